package groupmsg.notify;

/** The SNS topics events are published to. */
public enum Topic {
    /** Push/email subscribers: {@code group_message.accepted} and {@code group_message.sent}. */
    NOTIFICATIONS("notifications"),
    /** External integrations: inbound replies (never group messages). */
    INTEGRATIONS("integrations");

    private final String wireName;

    Topic(String wireName) {
        this.wireName = wireName;
    }

    public String wireName() {
        return wireName;
    }

    /** Lambda environment variable that carries the topic's ARN. */
    public String envVar() {
        return "TOPIC_ARN_" + name();
    }
}
