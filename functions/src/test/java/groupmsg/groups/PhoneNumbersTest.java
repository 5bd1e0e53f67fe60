package groupmsg.groups;

/*
 * Phone fixtures for the whole team, checked against libphonenumber 9.0.43 by the tests below.
 *
 * Known VALID (use these in tests; E.164):
 *   US  +14155550123 +14155550100 +14155550199 +12025550100 +12025550123 +12015550123 +12015550100
 *       +12125550123 +16505550123 +13105550123 +16175550123 +14152345678
 *       (libphonenumber accepts the fictional 555-01xx range in real US area codes)
 *   US toll-free +18005550123 (type TOLL_FREE, valid; whether a line may be toll-free is another matter)
 *   CA  +14165550123
 *   GB  +442079460018 (national "020 7946 0018" with GB; Ofcom's drama range for London)
 *   FR  +33612345678 (mobile), +33123456789 (fixed; national "01 23 45 67 89" with FR)
 *   DE  +4915123456789 (mobile), +4930123456 (fixed)
 *   AU  +61412345678   IN +919876543210   BR +5511987654321   CN +8613800138000   RU +79123456789
 *
 * Known INVALID (reason in brackets):
 *   +15555550123   [not a valid number for +1]   555 is not an area code
 *   +14151234567   [not a valid number for +1]   exchange may not start with 1
 *   +14150555012   [not a valid number for +1]   exchange may not start with 0
 *   +19995550123   [not a valid number for +1]   999 is not an area code
 *   +1415555012    [not a valid number for +1]   too short
 *   +141555501234  [not a valid number for +1]   too long
 *   +447700900123  [not a valid number for +44]  Ofcom's "drama" MOBILE range 07700 900xxx is NOT valid
 *   "12345" / "911" with US  [not a valid number for US]  short codes are not member numbers
 *   "1-800-FLOWERS" [contains letters]   "+999123456" [unknown country calling code]
 */

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.i18n.phonenumbers.PhoneNumberUtil;
import com.google.i18n.phonenumbers.PhoneNumberUtil.PhoneNumberFormat;
import com.google.i18n.phonenumbers.PhoneNumberUtil.PhoneNumberType;
import groupmsg.groups.PhoneNumbers.Invalid;
import groupmsg.groups.PhoneNumbers.Result;
import groupmsg.groups.PhoneNumbers.Valid;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.NumericChars;
import net.jqwik.api.constraints.StringLength;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class PhoneNumbersTest {

    static final List<String> KNOWN_VALID = List.of(
            "+14155550123", "+14155550100", "+14155550199", "+12025550100", "+12025550123", "+12015550123",
            "+12015550100", "+12125550123", "+16505550123", "+13105550123", "+16175550123", "+14152345678",
            "+18005550123", "+14165550123", "+442079460018", "+33612345678", "+33123456789", "+4915123456789",
            "+4930123456", "+61412345678", "+919876543210", "+5511987654321", "+8613800138000", "+79123456789");

    private static final PhoneNumberUtil UTIL = PhoneNumberUtil.getInstance();

    @ParameterizedTest
    @MethodSource("knownValid")
    void known_valid_fixtures_are_valid_and_unchanged(String e164) {
        assertThat(PhoneNumbers.normalize(e164, null)).isEqualTo(new Valid(e164));
        assertThat(PhoneNumbers.normalize(e164, "US")).isEqualTo(new Valid(e164));
    }

    static Stream<String> knownValid() {
        return KNOWN_VALID.stream();
    }

    static Stream<Arguments> validInputs() {
        return Stream.of(
                // input, country, expected E.164
                Arguments.of("+14155550123", null, "+14155550123"),
                Arguments.of("+1 (415) 555-0123", null, "+14155550123"),
                Arguments.of("+1-415-555-0123", "", "+14155550123"),
                Arguments.of("+1.415.555.0123", "  ", "+14155550123"),
                Arguments.of("  +1 415 555 0123  ", null, "+14155550123"),
                Arguments.of("+1/415/555/0123", null, "+14155550123"),
                Arguments.of("+1\t415\u00a0555\u20110123", null, "+14155550123"),
                Arguments.of("\uFF0B\uFF11\uFF14\uFF11\uFF15\uFF15\uFF15\uFF15\uFF10\uFF11\uFF12\uFF13", null, "+14155550123"),
                Arguments.of("+1\u0664\u0661\u0665\u0665\u0665\u0665\u0660\u0661\u0662\u0663", null, "+14155550123"),
                Arguments.of("(415) 555-0123", "US", "+14155550123"),
                Arguments.of("415.555.0123", "us", "+14155550123"),
                Arguments.of("4155550123", " Us ", "+14155550123"),
                Arguments.of("1 415 555 0123", "US", "+14155550123"),
                Arguments.of("011 44 20 7946 0018", "US", "+442079460018"),
                Arguments.of("4165550123", "CA", "+14165550123"),
                Arguments.of("020 7946 0018", "GB", "+442079460018"),
                Arguments.of("020 7946 0018", "uk", "+442079460018"),
                Arguments.of("+44 20 7946 0018", "UK", "+442079460018"),
                Arguments.of("020 7946 0018", "gb", "+442079460018"),
                Arguments.of("+44 (0)20 7946 0018", null, "+442079460018"),
                Arguments.of("(+44) 20 7946 0018", null, "+442079460018"),
                Arguments.of(" ( +33 ) 6 12 34 56 78", "US", "+33612345678"),
                Arguments.of("0044 20 7946 0018", null, "+442079460018"),
                Arguments.of("00442079460018", "US", "+442079460018"),
                Arguments.of("00 1 415 555 0123", null, "+14155550123"),
                // the country's own prefix for abroad, longer than "00" (read as "+", refused)
                Arguments.of("0011 44 20 7946 0018", "AU", "+442079460018"),
                Arguments.of("0021 1 415 555 0123", "BR", "+14155550123"),
                Arguments.of("0044 20 7946 0018", "CO", "+442079460018"),
                Arguments.of("0044 20 7946 0018", "DE", "+442079460018"),
                // "00" and the country's own code: its own number, not the country's prefix and a shorter code
                Arguments.of("0057 301 234 5678", "CO", "+573012345678"),
                Arguments.of("0082 10 1234 5678", "KR", "+821012345678"),
                Arguments.of("01 23 45 67 89", "FR", "+33123456789"),
                Arguments.of("+33 6 12 34 56 78", null, "+33612345678"),
                Arguments.of("030 123456", "DE", "+4930123456"),
                // an international number wins over the country
                Arguments.of("+1 (415) 555-0123", "GB", "+14155550123"),
                Arguments.of("+1 800 555 0123", null, "+18005550123"));
    }

    @ParameterizedTest
    @MethodSource("validInputs")
    void normalizes_to_e164(String input, String country, String expected) {
        assertThat(PhoneNumbers.normalize(input, country)).isEqualTo(new Valid(expected));
    }

    static Stream<Arguments> invalidInputs() {
        return Stream.of(
                // input, country, reason
                Arguments.of(null, null, "phone is required"),
                Arguments.of("", "US", "phone is required"),
                Arguments.of("   \t ", "US", "phone is required"),
                Arguments.of("+1 415 555 0123 0000 0000 0000 00", null, "too long"),
                Arguments.of("1-800-FLOWERS", "US", "contains letters"),
                Arguments.of("+1 800 FLOWERS", null, "contains letters"),
                Arguments.of("+14155550123 ext. 12", null, "contains letters"),
                Arguments.of("+1 415 555 0123 x5", null, "contains letters"),
                Arguments.of("tel:+14155550123", null, "contains letters"),
                Arguments.of("(415) 555-0123", null, "national number needs a country"),
                Arguments.of("4155550123", "", "national number needs a country"),
                Arguments.of("14155550123", " ", "national number needs a country"),
                Arguments.of("4155550123", "XX", "unknown country 'XX'"),
                Arguments.of("4155550123", "usa", "unknown country 'usa'"),
                Arguments.of("+14155550123", "ZZ", "unknown country 'ZZ'"),
                Arguments.of("4155550123", "a-very-long-country-name", "unknown country 'a-very-long-coun...'"),
                Arguments.of("21000000000000", "DE", "longer than E.164's 15 digits"),
                Arguments.of("+49 225 841 550 123 449", null, "longer than E.164's 15 digits"),
                Arguments.of("+1 415 555 0123 #", null, "not a phone number"),
                Arguments.of("+1 415*555*0123", null, "not a phone number"),
                Arguments.of("++14155550123", null, "not a phone number"),
                Arguments.of("1+4155550123", "US", "not a phone number"),
                Arguments.of("(+1) +415 555 0123", null, "not a phone number"),
                Arguments.of("(1) +415 555 0123", "US", "not a phone number"),
                Arguments.of("+14155550123,", null, "not a phone number"),
                Arguments.of("+", null, "not a phone number"),
                Arguments.of("00", null, "not a phone number"),
                Arguments.of("---", "US", "not a phone number"),
                Arguments.of("+999123456", null, "unknown country calling code"),
                Arguments.of("+0123456789", null, "unknown country calling code"),
                Arguments.of("+15555550123", null, "not a valid number for +1"),
                Arguments.of("+14151234567", null, "not a valid number for +1"),
                Arguments.of("+14150555012", null, "not a valid number for +1"),
                Arguments.of("+19995550123", null, "not a valid number for +1"),
                Arguments.of("+1415555012", null, "not a valid number for +1"),
                Arguments.of("+141555501234", null, "not a valid number for +1"),
                Arguments.of("555 555 0123", "US", "not a valid number for US"),
                Arguments.of("415 123 4567", "us", "not a valid number for US"),
                Arguments.of("+447700900123", null, "not a valid number for +44"),
                Arguments.of("07700 900123", "GB", "not a valid number for GB"),
                Arguments.of("+4420", "GB", "not a valid number for GB"),
                Arguments.of("+33 12", null, "not a valid number for FR"),
                Arguments.of("+33 12", "US", "not a valid number for FR"),
                // short codes are not member numbers
                Arguments.of("12345", "US", "not a valid number for US"),
                Arguments.of("911", "US", "not a valid number for US"),
                Arguments.of("+1911", null, "not a valid number for +1"),
                Arguments.of("87654", "GB", "not a valid number for GB"),
                // "00" read two ways, each a real number: either guess texts a stranger
                // (CO's 009 to +1 415 555 0123, or +91 4155550123 in India; +58 or CO's 005 to +84; +81 or KR's 008 to +1)
                Arguments.of("009 1 415 555 0123", "CO",
                        "ambiguous: 00 reads two ways; write it with +"),
                Arguments.of("0058 412 123 4567", "CO",
                        "ambiguous: 00 reads two ways; write it with +"),
                Arguments.of("0081 90 1234 5678", "KR",
                        "ambiguous: 00 reads two ways; write it with +"));
    }

    @ParameterizedTest
    @MethodSource("invalidInputs")
    void rejects_with_a_short_reason(String input, String country, String reason) {
        assertThat(PhoneNumbers.normalize(input, country)).isEqualTo(new Invalid(reason));
    }

    @Test
    void thirty_two_characters_are_looked_at_thirty_three_are_too_long() {
        String padded32 = "+1 415 555 0123" + "-".repeat(17);
        assertThat(padded32).hasSize(32);
        assertThat(PhoneNumbers.normalize(padded32, null)).isInstanceOf(Valid.class);
        assertThat(PhoneNumbers.normalize(padded32 + "-", null)).isEqualTo(new Invalid("too long"));
        // surrounding whitespace does not count
        assertThat(PhoneNumbers.normalize("   " + padded32 + "   ", null)).isInstanceOf(Valid.class);
    }

    @Test
    void reasons_are_short_lower_case_sentences_without_a_period() {
        Stream.concat(invalidInputs(), Stream.of(Arguments.of("4155550123", "Xx", null)))
                .map(a -> PhoneNumbers.normalize((String) a.get()[0], (String) a.get()[1]))
                .map(r -> ((Invalid) r).reason())
                .forEach(reason -> {
                    assertThat(reason).isNotBlank().hasSizeLessThan(50).doesNotEndWith(".");
                    assertThat(reason.charAt(0)).isLowerCase();
                });
    }

    @Test
    void an_international_number_whose_plus_a_spreadsheet_dropped_is_that_number_not_a_national_one() {
        // a members export re-imported after a spreadsheet took the "+" off: DE,4917612345678
        assertThat(PhoneNumbers.normalize("4917612345678", "DE")).isEqualTo(new Valid("+4917612345678"));
        assertThat(PhoneNumbers.normalize("62812345678", "ID")).isEqualTo(new Valid("+62812345678"));
        assertThat(PhoneNumbers.normalize("447911123456", "GB")).isEqualTo(new Valid("+447911123456"));
        // national forms (with their trunk 0) are as before
        assertThat(PhoneNumbers.normalize("0176 12345678", "DE")).isEqualTo(new Valid("+4917612345678"));
        assertThat(PhoneNumbers.normalize("030 123456", "DE")).isEqualTo(new Valid("+4930123456"));
        // a national reading that is a mobile stays: how these countries write their mobiles, or a trunk 0 dropped
        assertThat(PhoneNumbers.normalize("9118005192", "IN")).isEqualTo(new Valid("+919118005192"));
        assertThat(PhoneNumbers.normalize("(55) 90058-8740", "BR")).isEqualTo(new Valid("+5555900588740"));
        assertThat(PhoneNumbers.normalize("846955519", "VN")).isEqualTo(new Valid("+84846955519"));
        assertThat(PhoneNumbers.normalize("5 349 0802", "CU")).isEqualTo(new Valid("+5353490802"));
        // ... and a landline is not taken for another country's landline (Emden's 04921 with its 0 dropped)
        assertThat(PhoneNumbers.normalize("4921 123456", "DE")).isEqualTo(new Valid("+494921123456"));
        // where the trunk prefix is the calling code (NANP), nothing changes
        assertThat(PhoneNumbers.normalize("14155550123", "US")).isEqualTo(new Valid("+14155550123"));
        assertThat(PhoneNumbers.normalize("4155550123", "US")).isEqualTo(new Valid("+14155550123"));
    }

    @Test
    void the_import_template_example_is_valid_for_its_country() {
        assertThat(PhoneNumbers.normalize("(415) 555-0123", "US")).isEqualTo(new Valid("+14155550123"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"+14155550123:14155550123", "+442079460018:442079460018", "+1:1"})
    void digits_drops_the_plus(String pair) {
        String[] p = pair.split(":");
        assertThat(PhoneNumbers.digits(p[0])).isEqualTo(p[1]);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "+", "14155550123", "+1 415 555 0123", "+1415555012a", "+1234567890123456", "+١٤١٥"})
    void digits_refuses_what_is_not_e164(String notE164) {
        assertThatThrownBy(() -> PhoneNumbers.digits(notE164)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void digits_of_every_known_valid_fixture_are_its_e164_without_plus() {
        for (String e164 : KNOWN_VALID) {
            assertThat(PhoneNumbers.digits(e164)).isEqualTo(e164.substring(1)).containsOnlyDigits();
        }
    }

    // ---- properties ----

    /** Whatever the input, a valid result is E.164 and normalizing it again (with or without a country) gives it back. */
    @Property(tries = 2000)
    void e164_output_is_idempotent(@ForAll("phoneLike") String input, @ForAll("countries") String country) {
        Result first = PhoneNumbers.normalize(input, country);
        if (first instanceof Valid(String e164)) {
            assertThat(e164).matches("\\+[1-9][0-9]{6,14}");
            assertThat(PhoneNumbers.normalize(e164, null)).isEqualTo(first);
            assertThat(PhoneNumbers.normalize(e164, "GB")).isEqualTo(first);
            assertThat(PhoneNumbers.digits(e164)).isEqualTo(e164.substring(1));
        } else {
            assertThat(((Invalid) first).reason()).isNotBlank();
        }
    }

    /** Random E.164-shaped digits: valid ones survive punctuation anywhere after the plus, invalid ones stay invalid. */
    @Property(tries = 2000)
    void punctuation_between_digits_does_not_change_the_result(
            @ForAll @NumericChars @StringLength(min = 7, max = 15) String digits, @ForAll("separators") List<String> seps) {
        Result plain = PhoneNumbers.normalize("+" + digits, null);
        StringBuilder spaced = new StringBuilder("+");
        for (int i = 0; i < digits.length(); i++) {
            spaced.append(digits.charAt(i));
            String sep = seps.get(i % seps.size());
            int digitsLeft = digits.length() - 1 - i;
            if (digitsLeft > 0 && spaced.length() + sep.length() + digitsLeft <= PhoneNumbers.MAX_INPUT_LENGTH) {
                spaced.append(sep);
            }
        }
        Result punctuated = PhoneNumbers.normalize(spaced.toString(), null);
        if (plain instanceof Valid) {
            assertThat(punctuated).isEqualTo(plain);
        } else {
            assertThat(punctuated).isInstanceOf(Invalid.class);
        }
    }

    /**
     * A copied number's invisible wrapping (iOS's left-to-right override and pop, a left-to-right mark, a zero-width
     * space, a byte-order mark) is read without it; a right-to-left control is refused: it shows the digits in another
     * order than they are ("\u202E4123555212" looks like 2125553214), and another number would be texted.
     */
    @Test
    void invisible_wrapping_is_read_without_it_but_right_to_left_controls_are_refused() {
        assertThat(PhoneNumbers.normalize("\u202d+1 (415) 555\u20110177\u202c", null)).isEqualTo(new Valid("+14155550177"));
        assertThat(PhoneNumbers.normalize("\u200e+44 7911 123457", null)).isEqualTo(new Valid("+447911123457"));
        assertThat(PhoneNumbers.normalize("\ufeff+1 415 555 0178\u200b", null)).isEqualTo(new Valid("+14155550178"));
        for (String control : List.of("\u202e", "\u202b", "\u2067", "\u200f", "\u061c")) {
            assertThat(PhoneNumbers.normalize(control + "4123555212", "US")).as("U+%04X", (int) control.charAt(0))
                    .isInstanceOf(Invalid.class);
        }
    }

    /** libphonenumber's own example numbers for every region round-trip through the national and international formats. */
    @Test
    void example_numbers_of_every_region_round_trip() {
        Set<String> regions = new TreeSet<>(UTIL.getSupportedRegions());
        List<String> failures = new ArrayList<>();
        int checked = 0;
        for (String region : regions) {
            for (PhoneNumberType type : List.of(PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE)) {
                var example = UTIL.getExampleNumberForType(region, type);
                if (example == null) {
                    continue;
                }
                String e164 = UTIL.format(example, PhoneNumberFormat.E164);
                String national = UTIL.format(example, PhoneNumberFormat.NATIONAL);
                String international = UTIL.format(example, PhoneNumberFormat.INTERNATIONAL);
                checked++;
                expect(failures, e164, PhoneNumbers.normalize(e164, null), region + " e164");
                expect(failures, e164, PhoneNumbers.normalize(international, null), region + " " + international);
                expect(failures, e164, PhoneNumbers.normalize(national, region.toLowerCase()), region + " " + national);
                expect(failures, e164, PhoneNumbers.normalize("00" + e164.substring(1), null), region + " 00");
            }
        }
        assertThat(checked).isGreaterThan(400);
        assertThat(failures).isEmpty();
    }

    private static void expect(List<String> failures, String e164, Result actual, String what) {
        if (!new Valid(e164).equals(actual)) {
            failures.add(what + " -> " + actual);
        }
    }

    @Property(tries = 1000)
    void letters_are_always_reported_as_letters(@ForAll("withLetter") String input) {
        assertThat(PhoneNumbers.normalize(input, null)).isEqualTo(new Invalid("contains letters"));
        assertThat(PhoneNumbers.normalize(input, "US")).isEqualTo(new Invalid("contains letters"));
    }

    @Property(tries = 3000)
    void never_throws_on_arbitrary_input(@ForAll String input, @ForAll("countries") String country) {
        Result r = PhoneNumbers.normalize(input, country);
        assertThat(r).isNotNull();
        if (r instanceof Invalid(String reason)) {
            assertThat(reason).isNotBlank().doesNotEndWith(".");
        }
    }

    @Provide
    Arbitrary<String> phoneLike() {
        Arbitrary<String> pieces = Arbitraries.of("+", "00", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
                "44", "415", "555", "0123", " ", "-", ".", "(", ")", "/", "\u00a0", "#", "x");
        Arbitrary<String> random = pieces.list().ofMinSize(1).ofMaxSize(16).map(l -> String.join("", l));
        Arbitrary<String> examples = Arbitraries.of(new ArrayList<>(UTIL.getSupportedRegions()))
                .map(r -> UTIL.getExampleNumberForType(r, PhoneNumberType.MOBILE))
                .filter(n -> n != null)
                .map(n -> UTIL.format(n, PhoneNumberFormat.INTERNATIONAL));
        return Arbitraries.oneOf(random, examples, Arbitraries.of(KNOWN_VALID));
    }

    @Provide
    Arbitrary<String> countries() {
        return Arbitraries.oneOf(
                Arbitraries.of(new ArrayList<>(UTIL.getSupportedRegions())),
                Arbitraries.of("us", " gb ", "", "  ", "XX", "ZZ", "001", "usa", "Ü"),
                Arbitraries.just(null));
    }

    @Provide
    Arbitrary<List<String>> separators() {
        return Arbitraries.of("", " ", "-", ".", " - ", "\u00a0").list().ofMinSize(1).ofMaxSize(5);
    }

    @Provide
    Arbitrary<String> withLetter() {
        Arbitrary<String> prefix = Arbitraries.strings().withChars("+0123456789 -.()").ofMaxLength(12);
        Arbitrary<Character> letter = Arbitraries.chars().with('a', 'Z', 'x', 'é', 'Ω', 'ж', '中');
        Arbitrary<String> suffix = Arbitraries.strings().withChars("0123456789 -xX").ofMaxLength(12);
        return Combinators.combine(prefix, letter, suffix).as((p, l, s) -> p + l + s)
                .filter(s -> !s.isBlank());
    }
    /** A search for a number finds it by a run of its digits, or as its owner writes it with the trunk 0 or 00. */
    @org.junit.jupiter.api.Test
    void aSearchForDigitsMatchesANumberAsItsOwnerWritesIt() {
        assertThat(PhoneNumbers.digitsMatch("+14155550705", PhoneNumbers.searchDigits("0705"))).isTrue();
        assertThat(PhoneNumbers.digitsMatch("+14155550705", PhoneNumbers.searchDigits("(415) 555-0705"))).isTrue();
        assertThat(PhoneNumbers.digitsMatch("+447911123456", PhoneNumbers.searchDigits("07911 123456"))).isTrue();
        assertThat(PhoneNumbers.digitsMatch("+447911123456", PhoneNumbers.searchDigits("0044 7911 123456"))).isTrue();
        assertThat(PhoneNumbers.digitsMatch("+493012345678", PhoneNumbers.searchDigits("+49 030 12345678"))).isTrue();
        assertThat(PhoneNumbers.digitsMatch("+14155550705", PhoneNumbers.searchDigits("0799"))).isFalse();
        // the start of an international number with the country's trunk 0 after its code, as people write it
        assertThat(PhoneNumbers.searchDigits("+44 07911")).isEqualTo("447911");
        assertThat(PhoneNumbers.searchDigits("0044 07911")).isEqualTo("447911");
        assertThat(PhoneNumbers.digitsMatch("+447911123456", PhoneNumbers.searchDigits("+44 (0)7911"))).isTrue();
        assertThat(PhoneNumbers.searchDigits("+49 030 123")).isEqualTo("4930123");
        assertThat(PhoneNumbers.searchDigits("+44 7911")).isEqualTo("447911");
        // Italy's numbers keep their 0 (no trunk prefix there): the start of one, and a whole one
        assertThat(PhoneNumbers.normalize("+39 06123", null)).as("a start, no number yet").isInstanceOf(Invalid.class);
        assertThat(PhoneNumbers.searchDigits("+39 06123")).isEqualTo("3906123");
        assertThat(PhoneNumbers.searchDigits("+39 06 1234")).isEqualTo("39061234");
        assertThat(PhoneNumbers.digitsMatch("+390612345678", PhoneNumbers.searchDigits("+39 06 1234"))).isTrue();
        assertThat(PhoneNumbers.searchDigits("+999 0123")).as("no such code").isEqualTo("9990123");
        // short, it is looked for as typed: the last digits of a number, a country's code
        assertThat(PhoneNumbers.searchDigits("0012")).isEqualTo("0012");
        assertThat(PhoneNumbers.digitsMatch("+14155550012", PhoneNumbers.searchDigits("0012"))).isTrue();
        assertThat(PhoneNumbers.digitsMatch("+14155551234", PhoneNumbers.searchDigits("0012"))).isFalse();
        assertThat(PhoneNumbers.searchDigits("+44 0")).isEqualTo("440");
        assertThat(PhoneNumbers.searchDigits("0044 0791")).isEqualTo("00440791");
        // Russia's trunk 8 also starts its area codes: St Petersburg's 812 stays
        assertThat(PhoneNumbers.searchDigits("+7 812 555")).isEqualTo("7812555");
        assertThat(PhoneNumbers.searchDigits("Team 2026")).isNull();
    }

    /**
     * An import's phone cell as exports write one: a text marker or Excel's text formula around the number is not
     * part of it, a number in scientific notation is read when every digit is there, and else its row says the digits
     * were lost, not that it contains letters.
     */
    @Test
    void aPhoneCellIsReadAsSpreadsheetsWriteIt() {
        assertThat(PhoneNumbers.normalizeCell("'+14155550123", null)).isEqualTo(new Valid("+14155550123"));
        assertThat(PhoneNumbers.normalizeCell(" ' +442079460018 ", null)).isEqualTo(new Valid("+442079460018"));
        assertThat(PhoneNumbers.normalizeCell("'020 7946 0018", "GB")).isEqualTo(new Valid("+442079460018"));
        assertThat(PhoneNumbers.normalizeCell("=\"+14155550123\"", null)).isEqualTo(new Valid("+14155550123"));
        assertThat(PhoneNumbers.normalizeCell("=\"020 7946 0018\"", "GB")).isEqualTo(new Valid("+442079460018"));
        assertThat(PhoneNumbers.normalizeCell("1.4155550123E+10", "US")).isEqualTo(new Valid("+14155550123"));
        assertThat(PhoneNumbers.normalizeCell("4,42079460018e11", "GB")).isEqualTo(new Valid("+442079460018"));
        assertThat(PhoneNumbers.normalizeCell("4.4207946E+11", "GB")).isInstanceOf(Invalid.class)
                .extracting(r -> ((Invalid) r).reason()).asString().startsWith("written in scientific notation, its digits lost");
        assertThat(PhoneNumbers.normalizeCell("4.42079460018E+12", "GB")).as("a digit short").isInstanceOf(Invalid.class)
                .extracting(r -> ((Invalid) r).reason()).asString().startsWith("written in scientific notation");
        // as normalize reads them otherwise
        assertThat(PhoneNumbers.normalizeCell("+14155550123", null)).isEqualTo(new Valid("+14155550123"));
        assertThat(PhoneNumbers.normalizeCell("=\"", null)).isEqualTo(PhoneNumbers.normalize("=\"", null));
        assertThat(PhoneNumbers.normalizeCell("=1+2", null)).isEqualTo(new Invalid("not a phone number"));
        assertThat(PhoneNumbers.normalizeCell("1-800-FLOWERS", "US")).isEqualTo(new Invalid("contains letters"));
        assertThat(PhoneNumbers.normalizeCell("", "US")).isEqualTo(new Invalid("phone is required"));
        assertThat(PhoneNumbers.normalizeCell("'", "US")).isEqualTo(new Invalid("phone is required"));
    }

    /**
     * A number that may name a stored row is read as normalize reads it, or, in E.164 that today's metadata refuses, as
     * it is given (stored when an earlier libphonenumber took it); anything else is invalid as normalize says.
     */
    @Test
    void aNumberThatMayNameAStoredRowIsTakenInE164ThatTheMetadataRefuses() {
        assertThat(PhoneNumbers.normalizeExisting("+15555550123", null)).isEqualTo(new Valid("+15555550123"));
        assertThat(PhoneNumbers.normalizeExisting(" +447700900123 ", "GB")).isEqualTo(new Valid("+447700900123"));
        assertThat(PhoneNumbers.normalizeExisting("(415) 555-0123", "US")).isEqualTo(new Valid("+14155550123"));
        assertThat(PhoneNumbers.normalizeExisting("555 555 0123", "US")).isEqualTo(PhoneNumbers.normalize("555 555 0123", "US"))
                .isInstanceOf(Invalid.class);
        assertThat(PhoneNumbers.normalizeExisting("+1 555 555 0123", null)).as("not as E.164 writes it").isInstanceOf(Invalid.class);
        assertThat(PhoneNumbers.normalizeExisting("12", null)).isEqualTo(new Invalid("national number needs a country"));
        assertThat(PhoneNumbers.normalize("+15555550123", null)).as("an add still refuses it").isInstanceOf(Invalid.class);
        assertThat(PhoneNumbers.e164FromPath("%2B15555550123")).isEqualTo("+15555550123");
        assertThatThrownBy(() -> PhoneNumbers.e164FromPath("555")).hasMessageContaining("give it URL-encoded E.164");
    }
}
