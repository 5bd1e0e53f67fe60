package groupmsg.lines;

/**
 * One of the business's sending numbers.
 *
 * @param phone E.164 for long codes and toll-free numbers ({@code +14155550123}); the digits for short codes
 *              ({@code 12345})
 * @param mps   the most messages per second the carrier takes from this line
 * @param optOutNotice how to opt out ("Reply STOP to opt out"), added at the end of the line's group messages;
 *                     null for none
 * @param deletedAt    when the line was deleted; null for a line in use
 * @param revivedAt    when the line was last brought back after a deletion (its number added again); null if never
 */
public record Line(String id, String phone, LineType type, boolean groupMessaging, double mps,
                   String optOutReply, String optInReply, String helpReply, String optOutNotice, long createdAt,
                   long updatedAt, Long deletedAt, Long revivedAt) {

    /** A line never deleted and brought back. */
    public Line(String id, String phone, LineType type, boolean groupMessaging, double mps, String optOutReply,
                String optInReply, String helpReply, String optOutNotice, long createdAt, long updatedAt, Long deletedAt) {
        this(id, phone, type, groupMessaging, mps, optOutReply, optInReply, helpReply, optOutNotice, createdAt, updatedAt,
                deletedAt, null);
    }

    /**
     * Whether a message accepted at {@code acceptedAt} is from an earlier life of the line: accepted before it was
     * deleted and brought back. What it has not sent is not sent (its deletion failed it), whatever the line does now.
     */
    public boolean deletedSince(long acceptedAt) {
        return deleted() || revivedAt != null && acceptedAt < revivedAt;
    }

    /** Deleted ({@code DELETE /v1/lines/{id}}): kept for its history, sending nothing. */
    public boolean deleted() {
        return deletedAt != null;
    }

    public boolean tollFree() {
        return type == LineType.TOLL_FREE;
    }

    /**
     * Whether the carrier itself answers STOP and START on this line: on a US or Canadian (+1) toll-free number its
     * network does. A number that is not toll-free but was declared so (allowed: it only makes the line stricter)
     * gets no such answer from the carrier, so ours is sent; nor does another country's toll-free number (+44 800...,
     * +61 1800...): taken for one, its STOP and START went unconfirmed, and a "Yes" after a STOP was held back for a
     * network block that does not exist there.
     */
    public boolean carrierAnswersOptOuts() {
        return tollFree() && LineRules.isNetworkAnsweredTollFree(phone);
    }

    /**
     * Whether group texts may go out on this line: switched on, and a number that can do group MMS (a +1 US or Canada
     * long code). A line stored with the switch on before a rule existed (a toll-free number, a Caribbean +1) keeps
     * the flag, which {@code PATCH} could no longer set, not the ability.
     */
    public boolean groupMessagingAllowed() {
        return groupMessaging && LineRules.groupMessagingProblem(type, phone).isEmpty();
    }

    public boolean shortCode() {
        return type == LineType.SHORT_CODE;
    }
}
