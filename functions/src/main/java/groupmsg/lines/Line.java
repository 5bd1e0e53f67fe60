package groupmsg.lines;

/**
 * One of the business's sending numbers.
 *
 * @param phone E.164 for long codes and toll-free numbers ({@code +14155550123}); the digits for short codes
 *              ({@code 12345})
 * @param mps   the most messages per second the carrier takes from this line
 */
public record Line(String id, String phone, LineType type, boolean groupMessaging, int mps,
                   String optOutReply, String optInReply, String helpReply, long createdAt, long updatedAt) {

    public boolean tollFree() {
        return type == LineType.TOLL_FREE;
    }

    public boolean shortCode() {
        return type == LineType.SHORT_CODE;
    }
}
