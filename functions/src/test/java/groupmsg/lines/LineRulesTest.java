package groupmsg.lines;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class LineRulesTest {

    private static String ok(LineRules.PhoneResult result) {
        assertThat(result).isInstanceOf(LineRules.Ok.class);
        return ((LineRules.Ok) result).phone();
    }

    private static String bad(LineRules.PhoneResult result) {
        assertThat(result).isInstanceOf(LineRules.Bad.class);
        return ((LineRules.Bad) result).reason();
    }

    @Test
    void longCodesAndTollFreeNumbersAreStoredInE164() {
        assertThat(ok(LineRules.phone(LineType.LONG_CODE, "+14155550123", null))).isEqualTo("+14155550123");
        assertThat(ok(LineRules.phone(LineType.LONG_CODE, "(415) 555-0124", "us"))).isEqualTo("+14155550124");
        assertThat(ok(LineRules.phone(LineType.LONG_CODE, "020 7946 0018", "GB"))).isEqualTo("+442079460018");
        assertThat(ok(LineRules.phone(LineType.TOLL_FREE, "+1 800 555 0123", null))).isEqualTo("+18005550123");
        // declaring an ordinary number toll-free only makes it stricter, so it is allowed
        assertThat(ok(LineRules.phone(LineType.TOLL_FREE, "+14155550123", null))).isEqualTo("+14155550123");
    }

    @Test
    void badNumbersSayWhy() {
        assertThat(bad(LineRules.phone(LineType.LONG_CODE, "4155550123", null))).isEqualTo("national number needs a country");
        assertThat(bad(LineRules.phone(LineType.LONG_CODE, "+15555550123", null))).isEqualTo("not a valid number for +1");
        assertThat(bad(LineRules.phone(LineType.TOLL_FREE, "12345", "US"))).isEqualTo("not a valid number for US");
        assertThat(bad(LineRules.phone(LineType.LONG_CODE, "  ", null))).isEqualTo("is required");
    }

    @Test
    void aTollFreeNumberCannotBeDeclaredALongCode() {
        // otherwise group messaging could be switched on for it
        assertThat(bad(LineRules.phone(LineType.LONG_CODE, "+18005550123", null))).contains("toll-free");
    }

    @Test
    void shortCodesAreThreeToEightDigits() {
        assertThat(ok(LineRules.phone(LineType.SHORT_CODE, " 12345 ", null))).isEqualTo("12345");
        assertThat(ok(LineRules.phone(LineType.SHORT_CODE, "123", "US"))).isEqualTo("123");
        assertThat(ok(LineRules.phone(LineType.SHORT_CODE, "12345678", null))).isEqualTo("12345678");
        assertThat(bad(LineRules.phone(LineType.SHORT_CODE, "12", null))).contains("3 to 8 digits");
        assertThat(bad(LineRules.phone(LineType.SHORT_CODE, "123456789", null))).contains("3 to 8 digits");
        assertThat(bad(LineRules.phone(LineType.SHORT_CODE, "+12345", null))).contains("3 to 8 digits");
        assertThat(bad(LineRules.phone(LineType.SHORT_CODE, "12 345", null))).contains("3 to 8 digits");
        assertThat(bad(LineRules.phone(LineType.SHORT_CODE, "١٢٣٤٥", null))).contains("3 to 8 digits");
        assertThat(bad(LineRules.phone(LineType.SHORT_CODE, null, null))).isEqualTo("is required");
        // a country does not apply to a short code, but one that is no country is refused as on any line
        assertThat(bad(LineRules.phone(LineType.SHORT_CODE, "12345", "XX"))).isEqualTo("unknown country 'XX'");
    }

    @Test
    void groupMessagingOnlyOnPlusOneLongCodes() {
        assertThat(LineRules.groupMessagingProblem(LineType.LONG_CODE, "+14155550123")).isEmpty();
        assertThat(LineRules.groupMessagingProblem(LineType.LONG_CODE, "+14165550123")).isEmpty(); // Canada
        // the US's territories are the US's (Puerto Rico, the Virgin Islands)
        assertThat(LineRules.groupMessagingProblem(LineType.LONG_CODE, "+17872345678")).isEmpty();
        assertThat(LineRules.groupMessagingProblem(LineType.LONG_CODE, "+13407123456")).isEmpty();
        // +1, but Jamaica's and the Bahamas': no group MMS there
        assertThat(LineRules.groupMessagingProblem(LineType.LONG_CODE, "+18762345678"))
                .contains("is available only on +1 (US or Canada) long codes");
        assertThat(LineRules.groupMessagingProblem(LineType.LONG_CODE, "+12423456789"))
                .contains("is available only on +1 (US or Canada) long codes");
        // each reads on from the field's name: "groupMessaging is not available on toll-free numbers; ..."
        assertThat(LineRules.groupMessagingProblem(LineType.LONG_CODE, "+442079460018"))
                .contains("is available only on +1 (US or Canada) long codes");
        assertThat(LineRules.groupMessagingProblem(LineType.TOLL_FREE, "+18005550123"))
                .contains("is not available on toll-free numbers; use a +1 long code");
        assertThat(LineRules.groupMessagingProblem(LineType.TOLL_FREE, null)).isPresent();
        assertThat(LineRules.groupMessagingProblem(LineType.SHORT_CODE, "12345"))
                .contains("is not available on short codes; use a +1 long code");
        // an unknown number is judged by its type alone
        assertThat(LineRules.groupMessagingProblem(LineType.LONG_CODE, null)).isEmpty();
    }

    @Test
    void mpsRangeAndDefaults() {
        assertThat(LineRules.validMps(1)).isTrue();
        assertThat(LineRules.validMps(1000)).isTrue();
        assertThat(LineRules.validMps(0)).isFalse();
        assertThat(LineRules.validMps(1001)).isFalse();
        assertThat(LineRules.DEFAULT_MPS).isEqualTo(1);
        for (LineType type : LineType.values()) assertThat(LineType.fromWire(type.wireName())).contains(type);
        assertThat(LineType.fromWire("TOLL_FREE")).isEmpty();
        assertThat(LineType.TOLL_FREE.carrierMps()).isEqualTo(3);
        assertThat(LineRules.DEFAULT_OPT_OUT_REPLY.length()).isLessThanOrEqualTo(LineRules.MAX_REPLY_LENGTH);
    }

    @Test
    void anOptOutNoticeIsOneLineThatNamesAnOptOutKeyword() {
        for (String fine : new String[]{"Reply STOP to opt out.", "Text UNSUBSCRIBE to leave the list", "STOP=stop",
                "Reply OPT-OUT to quit", "Reply OPT\u2013OUT to quit", "Text OPT OUT", "Répondez ARRÊT", "(STOP)",
                LineRules.DEFAULT_OPT_OUT_NOTICE, ""}) {
            assertThat(LineRules.optOutNoticeProblem(fine)).as(fine).isNull();
        }
        // no keyword; a word that only contains one; a keyword in lower case (a sentence's "end" says nothing)
        for (String refused : new String[]{"Thanks for being with us!", "NONSTOP deals, call us", "STOPWATCH sale",
                "reply stop to end", "See you at the end"}) {
            assertThat(LineRules.optOutNoticeProblem(refused)).as(refused).startsWith("must say how to opt out");
        }
        assertThat(LineRules.optOutNoticeProblem("Reply STOP\nto opt out")).isEqualTo("must be one line");
        assertThat(LineRules.DEFAULT_OPT_OUT_NOTICE.length()).isLessThanOrEqualTo(LineRules.MAX_OPT_OUT_NOTICE_LENGTH);
    }

    @Test
    void lineKnowsWhetherItIsTollFree() {
        Line tollFree = new Line("line_1", "+18005550123", LineType.TOLL_FREE, false, 3, "a", "b", "c", null, 0, 0, null);
        Line longCode = new Line("line_2", "+14155550123", LineType.LONG_CODE, true, 1, "a", "b", "c", null, 0, 0, null);
        assertThat(tollFree.tollFree()).isTrue();
        assertThat(longCode.tollFree()).isFalse();
    }

    @Test
    void theCarrierAnswersOptOutsOnlyForARealTollFreeNumber() {
        assertThat(new Line("line_1", "+18005550123", LineType.TOLL_FREE, false, 3, "a", "b", "c", null, 0, 0, null).carrierAnswersOptOuts()).isTrue();
        assertThat(new Line("line_2", "+18335550123", LineType.TOLL_FREE, false, 3, "a", "b", "c", null, 0, 0, null).carrierAnswersOptOuts()).isTrue();
        // declared toll-free, but a long code: no carrier answers for it
        assertThat(new Line("line_3", "+14155550123", LineType.TOLL_FREE, false, 3, "a", "b", "c", null, 0, 0, null).carrierAnswersOptOuts()).isFalse();
        // another country's toll-free number: no network there answers STOP and START for us
        assertThat(LineRules.isTollFreeNumber("+448001234567")).isTrue();
        assertThat(new Line("line_4", "+448001234567", LineType.TOLL_FREE, false, 3, "a", "b", "c", null, 0, 0, null).carrierAnswersOptOuts()).isFalse();
        assertThat(new Line("line_4", "+18005550123", LineType.LONG_CODE, false, 1, "a", "b", "c", null, 0, 0, null).carrierAnswersOptOuts()).isFalse();
    }
}
