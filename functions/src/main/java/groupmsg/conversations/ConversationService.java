package groupmsg.conversations;

import groupmsg.accounts.AccountService;
import groupmsg.accounts.AccountSettings;
import groupmsg.carrier.OutboundMessage;
import groupmsg.groups.PhoneNumbers;
import groupmsg.lines.Line;
import groupmsg.lines.LineService;
import groupmsg.messages.DirectMessages;
import groupmsg.messages.DirectReplies;
import groupmsg.messages.MessageKind;
import groupmsg.messages.SmsText;
import groupmsg.optout.OptOutStore;
import groupmsg.platform.Log;
import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.Caller;
import groupmsg.platform.api.IdempotencyStore;
import groupmsg.platform.api.Role;
import groupmsg.platform.api.Text;
import groupmsg.platform.config.Ids;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.dynamo.FilteredPage;
import groupmsg.platform.queue.QueueSender;
import groupmsg.platform.schema.Tables;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.time.Clock;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Reply-all conversations: one SMS thread of 2..10 people on a group-messaging line. Every message (the
 * business's, or a participant's reply relayed to the others as {@code "<name or number>: <body>"}) goes through
 * the delivery pipeline as a {@link MessageKind#CONVERSATION} message, ordered per conversation through the FIFO
 * relays queue. Opt-outs follow the account's {@code conversationOptOutPolicy}: {@code exclude_participant} leaves
 * the opted-out number out, {@code block_conversation} stops the whole conversation.
 */
public final class ConversationService {
    public static final String ACTIVE = "active";
    public static final String BLOCKED = "blocked";
    public static final String CLOSED = "closed";
    /** A reply's outcome (not a conversation's status): its line's group messaging was switched off. */
    static final String LINE_OFF = "line_off";
    /** A reply with no visible text and no media: kept in the thread, nothing to relay. */
    static final String EMPTY = "empty";
    static final String OUTBOUND_MESSAGE_PREFIX = "cout_";
    static final String RELAY_MESSAGE_PREFIX = "crly_";

    private final ConversationStore store;
    private final OptOutStore optOuts;
    private final LineService lines;
    private final AccountService accounts;
    private final DirectMessages direct;
    private final Clock clock;
    private final Ids ids;

    public ConversationService(Wiring wiring, QueueSender queue) {
        DynamoOps ops = new DynamoOps(wiring.dynamo());
        String core = wiring.config().table(Tables.CORE);
        this.store = new ConversationStore(ops, core);
        this.optOuts = new OptOutStore(ops, core);
        this.lines = new LineService(wiring);
        this.accounts = new AccountService(wiring);
        this.direct = new DirectMessages(wiring, queue);
        this.clock = wiring.clock();
        this.ids = wiring.ids();
    }

    /** A conversation as the API shows it: who opted out, and whether the policy blocks it. */
    /** @param optedOutAt its participants who opted out of its line, and when */
    public record View(Conversation conversation, Map<String, Long> optedOutAt, String status) {
        public Set<String> optedOut() {
            return optedOutAt.keySet();
        }

        /** The participants a message in it goes to: those who have not opted out of its line. */
        List<String> reachable() {
            return conversation.participants().stream().map(Conversation.Participant::phone)
                    .filter(p -> !optedOutAt.containsKey(p)).toList();
        }
    }

    /** @param sender the name the first message is signed with ("<sender>: <body>"; null: unsigned) */
    public record NewConversation(String lineId, String name, List<Conversation.Participant> participants, String body,
                                  List<String> mediaUrls, String sender) {}

    public View create(Caller caller, NewConversation input) {
        return create(caller, input, ids.next(""));
    }

    /**
     * @param ulid the time-ordered part of the conversation's and its first message's ids: the same on every run of
     *             one request under an Idempotency-Key, so a run after one that created them (and then failed, or
     *             died before answering) finds them and sends the first message once
     */
    public View create(Caller caller, NewConversation input, String ulid) {
        AccountSettings settings = requireChatRole(caller);
        // An earlier run of this request that created it is answered with it, whatever changed since (an opt-out
        // that would block it now), and its first message's sending is seen through.
        var earlier = store.get(caller.accountId(), Conversation.ID_PREFIX + ulid);
        if (earlier.isPresent()) return resumeCreate(earlier.get(), settings, input, ulid);
        Line line = lines.find(caller.accountId(), input.lineId())
                .orElseThrow(() -> ApiException.invalid("lineId: no such line in this account"));
        if (!line.groupMessagingAllowed()) {
            // the number's type first, when that is why: switching the flag on would not help
            throw ApiException.invalid(groupmsg.lines.LineRules.groupMessagingProblem(line.type(), line.phone())
                    .map(problem -> "lineId: group messaging " + problem)
                    .orElse("lineId: the line does not have groupMessaging enabled"));
        }
        int max = settings.maxConversationParticipants();
        if (input.participants().size() < AccountSettings.MIN_PARTICIPANTS || input.participants().size() > max) {
            throw participantCount(max, input.participants().size());
        }
        var seen = new java.util.HashSet<String>();
        for (var p : input.participants()) {
            // which number: two spellings of one ("(415) 555-0123" and "+14155550123") are not told apart by eye
            if (!seen.add(p.phone())) throw ApiException.invalid("participants: every number must be distinct; " + p.phone() + " is given twice");
        }
        if (input.participants().stream().anyMatch(p -> p.phone().equals(line.phone()))) {
            throw ApiException.invalid("participants: the line's own number cannot be a participant");
        }
        for (var p : input.participants()) {
            // its texts are the business's own, which the webhook does not take: it could never reply
            if (lines.isLineOf(caller.accountId(), p.phone())) {
                throw ApiException.invalid("participants: " + p.phone() + " is another of this account's lines");
            }
        }
        List<String> phones = input.participants().stream().map(Conversation.Participant::phone).toList();
        Map<String, Long> optedOutAt = optOuts.optedOutAt(line.id(), phones);
        Set<String> optedOut = optedOutAt.keySet();
        if (!optedOut.isEmpty() && AccountSettings.BLOCK_CONVERSATION.equals(settings.conversationOptOutPolicy())) {
            throw ApiException.conflict("participants opted out of this line: " + optedOut.stream().sorted().toList()
                    + " (the account's conversationOptOutPolicy is block_conversation)");
        }
        if (optedOut.size() == phones.size()) {
            // nobody would get the first message, nor any later one (each is refused so)
            throw ApiException.conflict("every participant has opted out of this line: " + optedOut.stream().sorted().toList());
        }
        // created when its ids were given: its thread lists messages by id, oldest first by createdAt
        long createdAt = Ids.timeOf(ulid);
        // stored now, after what the create read (a group's members: seconds): routing takes it from then on
        long openedAt = Math.max(clock.millis(), createdAt);
        var conversation = new Conversation(Conversation.ID_PREFIX + ulid, caller.accountId(), input.name(), line.id(),
                line.phone(), List.copyOf(input.participants()), createdAt, createdAt, openedAt, null, null, null, openedAt);
        var first = ThreadMessage.outbound(ThreadMessage.ID_PREFIX + ulid, conversation.id(), caller.keyId(),
                input.sender(), input.body(), input.mediaUrls(), createdAt);
        conversation = conversation.withLastMessage(first);
        List<String> to = phones.stream().filter(p -> !optedOut.contains(p)).toList(); // not empty: refused above
        // one transaction with the message that sends the first message: a fault between two writes left a
        // conversation whose first message nobody got, and without an Idempotency-Key nothing sent it
        boolean created = direct.accept(OUTBOUND_MESSAGE_PREFIX + ulid, caller.accountId(), line, MessageKind.CONVERSATION,
                to, first.textToSend(), input.mediaUrls(), conversation.id(), store.createItems(conversation, first));
        if (!created) {
            // an earlier run's transaction committed after this run read nothing (its answer lost, or late): as any
            // run after one that created it
            var stored = store.get(caller.accountId(), conversation.id());
            if (stored.isPresent()) return resumeCreate(stored.get(), settings, input, ulid);
            throw new IllegalStateException("conversation " + conversation.id() + ": its message exists without it");
        }
        if (!AccountSettings.BLOCK_CONVERSATION.equals(settings.conversationOptOutPolicy())) {
            return new View(conversation, optedOutAt, ACTIVE);
        }
        // An opt-out recorded between the read above and the commit: its block may have looked for the number's
        // conversations before this one was there, and blocked none (a fault here: the retry's resumeCreate looks)
        Map<String, Long> now = optOuts.optedOutAt(line.id(), phones);
        return view(blockedIfOptedOut(conversation, settings, now), settings, now);
    }

    /** How far apart two functions' clocks may be (the opt-out's and the create's). */
    static final long CLOCKS_APART_MILLIS = 5_000;

    /**
     * {@code c} blocked for good, under block_conversation, when one of its participants is opted out of its line
     * ({@code optedOutOfLine}, read after it was stored), as that opt-out's own block would have done had the
     * conversation been there (else the number's START would reopen it); its messages go to nobody, as any stopped so.
     * As it is then.
     */
    private Conversation blockedIfOptedOut(Conversation c, AccountSettings settings, Map<String, Long> optedOutOfLine) {
        if (c.blockedAt() != null || !AccountSettings.BLOCK_CONVERSATION.equals(settings.conversationOptOutPolicy())) return c;
        // only an opt-out that can have come between the create's read and its commit: one before it made the create a
        // 409 (or came under the other policy), one after it found the conversation; a retry hours later, after the
        // policy was switched, must not block for good what the switch blocks only while the number stays out
        long from = c.createdAt() - CLOCKS_APART_MILLIS, to = c.createdAt() + IdempotencyStore.WRITES_SETTLED_AFTER.toMillis();
        var since = c.participants().stream().map(p -> optedOutOfLine.get(p.phone()))
                .filter(at -> at != null && at >= from && at <= to).min(Long::compare);
        if (since.isEmpty()) return c;
        store.markBlocked(c.accountId(), c.id(), Math.max(c.createdAt(), since.get()), null);
        return store.get(c.accountId(), c.id()).orElse(c);
    }

    /**
     * A conversation an earlier run of the create stored: its first message is sent (once) unless it is blocked or
     * closed now.
     */
    private View resumeCreate(Conversation c, AccountSettings settings, NewConversation input, String ulid) {
        Map<String, Long> optedOutOfLine = optOuts.optedOutAt(c.lineId(), c.participants().stream().map(Conversation.Participant::phone).toList());
        // an earlier run may have stopped between its commit and its look at the opt-outs (create, above)
        View view = view(blockedIfOptedOut(c, settings, optedOutOfLine), settings, optedOutOfLine);
        Line line = lines.find(c.accountId(), c.lineId()).orElse(null);
        List<String> to = view.reachable();
        if (line != null && line.groupMessagingAllowed() && !to.isEmpty() && ACTIVE.equals(view.status())) {
            // as its first run stored it (a retry's body is the same: the Idempotency-Key's hash checks it)
            ThreadMessage first = store.message(c.accountId(), c.id(), ThreadMessage.ID_PREFIX + ulid).orElse(null);
            direct.accept(OUTBOUND_MESSAGE_PREFIX + ulid, c.accountId(), line, MessageKind.CONVERSATION, to,
                    first == null ? input.body() : first.textToSend(), input.mediaUrls(), c.id());
        }
        return view;
    }

    /**
     * The id of the message that carried a thread message to the participants: the business's own message, or the
     * relay of a participant's reply to the others (the thread message's id shares its time-ordered part). 404 for a
     * message not in this account's conversation.
     */
    public DeliveredAs deliveredAs(String accountId, String conversationId, String messageId) {
        Conversation c = find(accountId, conversationId);
        if (!messageId.startsWith(ThreadMessage.ID_PREFIX)) throw ApiException.notFound("message");
        ThreadMessage m = store.message(accountId, conversationId, messageId).orElseThrow(() -> ApiException.notFound("message"));
        var names = new java.util.HashMap<String, String>();
        for (var p : c.participants()) if (p.name() != null && !p.name().isBlank()) names.put(p.phone(), p.name());
        return new DeliveredAs(deliveredAs(m), Map.copyOf(names));
    }

    /** The message that carried a thread message, and the participants' names by number (those that have one). */
    public record DeliveredAs(String messageId, Map<String, String> names) {}

    /** The id of the message that carried {@code m} to the participants. */
    static String deliveredAs(ThreadMessage m) {
        String ulid = m.id().substring(ThreadMessage.ID_PREFIX.length());
        return (ThreadMessage.OUTBOUND.equals(m.direction()) ? OUTBOUND_MESSAGE_PREFIX : RELAY_MESSAGE_PREFIX) + ulid;
    }

    /** One message of a conversation's thread, with the conversation (its participants name the authors); 404 if none. */
    public ThreadPage message(String accountId, String conversationId, String messageId) {
        Conversation c = find(accountId, conversationId);
        if (messageId == null || !messageId.startsWith(ThreadMessage.ID_PREFIX)) throw ApiException.notFound("message");
        ThreadMessage m = store.message(accountId, c.id(), messageId).orElseThrow(() -> ApiException.notFound("message"));
        return new ThreadPage(c, List.of(m), null);
    }

    /** Whether the account has this conversation (a retried request's check for what its first run stored). */
    public boolean exists(String accountId, String id) {
        return store.get(accountId, id).isPresent();
    }

    /** Whether the conversation has this message (a retried request's check for what its first run stored). */
    public boolean messageExists(String accountId, String conversationId, String messageId) {
        return store.message(accountId, conversationId, messageId).isPresent();
    }

    public View get(String accountId, String id) {
        Conversation c = find(accountId, id);
        return view(c, accounts.account(accountId).settings());
    }

    public record ConversationPage(List<View> conversations, Map<String, AttributeValue> lastKey) {}

    /** What a list is narrowed to (an extension of API.md): each null for any. */
    /** @param search null, or text a match's name or one of its participants' names contains (in its search form) */
    public record ListFilter(String lineId, String participant, String status, String search) {
        public static final ListFilter NONE = new ListFilter(null, null, null, null);
    }

    /** The order of a list: newest created first (API.md), or (an extension) most recently active first. */
    public enum ListOrder { CREATED, ACTIVITY }

    /** The partition a list's cursor must name: the account's, or its activity index's. */
    public static Map.Entry<String, String> listPartition(String accountId, ListOrder order) {
        return order == ListOrder.ACTIVITY ? Map.entry("gsi1pk", ConversationStore.activityPk(accountId))
                : Map.entry("pk", Attr.accountPk(accountId));
    }

    /** Conversations read per step of a filtered list, and the steps one page may take. */
    static final int FILTERED_STEP = 100;
    static final int FILTERED_STEPS = 10;

    /**
     * Newest first. Filtered, the account's conversations are read 100 at a time (only the line's, when given) until
     * the page is full and one more is found (so a cursor is given only when another follows), or 1,000 were read
     * (then the cursor goes on from there, and the page may hold fewer than {@code limit}).
     */
    public ConversationPage list(String accountId, ListFilter filter, ListOrder order, int limit,
                                 Map<String, AttributeValue> start) {
        // a line that is none of the account's (in use or deleted) is a 404, as the inbound and opt-out lists answer
        if (filter.lineId() != null && lines.findKept(accountId, filter.lineId()).isEmpty()) throw ApiException.notFound("line");
        AccountSettings settings = accounts.account(accountId).settings();
        boolean byActivity = order == ListOrder.ACTIVITY;
        if (filter.equals(ListFilter.NONE)) {
            var page = store.list(accountId, null, byActivity, limit, start);
            return new ConversationPage(views(page.items(), settings), page.lastKey());
        }
        // a search for digits also finds a participant's number ("4155550123", "(415) 555-01"), as a group's member
        // search does
        String digits = filter.search() == null ? null : PhoneNumbers.searchDigits(filter.search());
        var page = FilteredPage.fill(limit, FILTERED_STEPS, start, from -> {
            var step = store.list(accountId, filter.lineId(), byActivity, FILTERED_STEP, from);
            var candidates = step.items().stream()
                    .filter(c -> filter.participant() == null
                            || c.participants().stream().anyMatch(p -> p.phone().equals(filter.participant())))
                    .filter(c -> filter.search() == null || Text.searchMatches(c.name(), filter.search())
                            || c.participants().stream().anyMatch(p -> Text.searchMatches(p.name(), filter.search())
                                    || digits != null && PhoneNumbers.digitsMatch(p.phone(), digits)))
                    .toList();
            var matches = views(candidates, settings).stream()
                    .filter(v -> filter.status() == null || filter.status().equals(v.status())).toList();
            return new FilteredPage.Step<>(matches, step.lastKey());
        }, v -> byActivity ? ConversationStore.activityKey(v.conversation())
                : ConversationStore.key(accountId, v.conversation().id()));
        return new ConversationPage(page.items(), page.lastKey());
    }

    /** Views of several conversations, with who opted out read in one BatchGetItem per line (not one per conversation). */
    private List<View> views(List<Conversation> conversations, AccountSettings settings) {
        Map<String, Map<String, Long>> optedOutByLine = new HashMap<>();
        for (var entry : conversations.stream().collect(Collectors.groupingBy(Conversation::lineId)).entrySet()) {
            List<String> phones = entry.getValue().stream().flatMap(c -> c.participants().stream())
                    .map(Conversation.Participant::phone).distinct().toList();
            optedOutByLine.put(entry.getKey(), optOuts.optedOutAt(entry.getKey(), phones));
        }
        return conversations.stream().map(c -> view(c, settings, optedOutByLine.get(c.lineId()))).toList();
    }

    public View rename(Caller caller, String id, String name) {
        requireChatRole(caller);
        find(caller.accountId(), id);
        if (!store.rename(caller.accountId(), id, name, clock.millis())) throw ApiException.notFound("conversation");
        return get(caller.accountId(), id);
    }

    /**
     * Closes the conversation for good (the business is done with it): nothing more is sent in it, a participant's
     * reply is routed to their most recently active open conversation on the line, else kept as a direct reply to
     * the line. Closing a closed one changes nothing.
     */
    public View close(Caller caller, String id) {
        requireChatRole(caller);
        Conversation c = find(caller.accountId(), id);
        if (c.closedAt() == null && !store.close(c, clock.millis())) throw ApiException.notFound("conversation");
        return get(caller.accountId(), id);
    }

    /**
     * Names a participant (null: no name, the number shows): how the others see their relayed replies from now on,
     * and how the thread names them. Who takes part stays fixed.
     */
    public View renameParticipant(Caller caller, String id, String phone, String name) {
        requireChatRole(caller);
        Conversation c = find(caller.accountId(), id);
        int index = c.participants().stream().map(Conversation.Participant::phone).toList().indexOf(phone);
        if (index < 0) throw ApiException.notFound("participant " + phone + " of this conversation");
        if (!store.renameParticipant(c, index, phone, name, clock.millis())) throw ApiException.notFound("conversation");
        return get(caller.accountId(), id);
    }

    /** Participants are fixed: changing them is a 409 (after the usual checks, so a wrong id is still a 404). */
    public void changeParticipants(Caller caller, String id) {
        requireChatRole(caller);
        find(caller.accountId(), id);
        throw ApiException.conflict("participants of a conversation are fixed; start a new conversation instead");
    }

    /** The business writes to everyone. */
    public ThreadMessage send(Caller caller, String id, String body, List<String> mediaUrls) {
        return send(caller, id, null, body, mediaUrls, ids.next(""));
    }

    /**
     * @param ulid the time-ordered part of the message's id: the same on every run of one request under an
     *             Idempotency-Key, so a run after one that stored it finds it and sends it once
     */
    public ThreadMessage send(Caller caller, String id, String sender, String body, List<String> mediaUrls, String ulid) {
        AccountSettings settings = requireChatRole(caller);
        Conversation c = find(caller.accountId(), id);
        // An earlier run of this request that stored the message is answered with it, whatever changed since (an
        // opt-out that blocks the conversation now did not when it was accepted), and its sending is seen through.
        ThreadMessage earlier = store.message(caller.accountId(), c.id(), ThreadMessage.ID_PREFIX + ulid).orElse(null);
        View view = view(c, settings);
        List<String> to = view.reachable();
        if (earlier == null) {
            if (CLOSED.equals(view.status())) {
                throw ApiException.conflict("the conversation is closed; start a new conversation instead");
            }
            if (BLOCKED.equals(view.status())) {
                throw ApiException.conflict("the conversation is blocked: " + view.optedOut().stream().sorted().toList()
                        + " opted out and the account's conversationOptOutPolicy is block_conversation");
            }
            if (to.isEmpty()) throw ApiException.conflict("every participant has opted out of this line");
        }
        Line line = lines.find(caller.accountId(), c.lineId()).orElse(null);
        if (line == null) {
            if (earlier != null) return earlier;
            throw ApiException.conflict("the conversation's line is gone");
        }
        if (!line.groupMessagingAllowed() && earlier == null) {
            // switched off since the conversation began (a carrier that no longer allows it): no group text goes out
            throw ApiException.conflict("the conversation's line no longer has groupMessaging enabled");
        }
        ThreadMessage message = earlier != null ? earlier : ThreadMessage.outbound(ThreadMessage.ID_PREFIX + ulid, c.id(),
                caller.keyId(), sender, body, mediaUrls, Ids.timeOf(ulid));
        // a new message is always sent (refused above otherwise); an earlier run's only while the conversation is
        // as it was
        if (!to.isEmpty() && ACTIVE.equals(view.status()) && line.groupMessagingAllowed()) {
            // a new thread message is stored in one transaction with the message that sends it (see create)
            boolean created = direct.accept(OUTBOUND_MESSAGE_PREFIX + ulid, caller.accountId(), line, MessageKind.CONVERSATION,
                    to, message.textToSend(), message.mediaUrls(), c.id(),
                    earlier == null ? List.of(store.addMessageItem(caller.accountId(), message)) : List.of());
            // an earlier run's transaction that committed after this run read nothing stored both: kept as it is
            if (!created && earlier == null) store.addMessage(caller.accountId(), message);
        }
        // at the message's own time (its place in the thread): a reply placed after it stays the latest, a rerun's
        // touch changes nothing once the conversation moved on
        touchAfterSend(caller.accountId(), c.id(), message);
        return message;
    }

    /**
     * Makes the conversation the most recently active for routing, once its message is on its way: a failure here
     * (up to 11 writes) must not fail a request whose message is stored and sent; routing then goes by the
     * conversation's previous activity until its next message or reply.
     */
    private void touchAfterSend(String accountId, String conversationId, ThreadMessage sent) {
        for (int attempt = 1; ; attempt++) {
            try {
                store.touch(accountId, conversationId, sent.createdAt(), sent); // forward only: a second try repairs the first
                return;
            } catch (RuntimeException e) {
                if (attempt == 2) {
                    Log.error("conversation_touch_failed", Map.of("conversationId", conversationId), e);
                    return;
                }
            }
        }
    }

    /** A page of a conversation's thread, with the conversation (its participants name the authors). */
    public record ThreadPage(Conversation conversation, List<ThreadMessage> messages, Map<String, AttributeValue> lastKey) {}

    public ThreadPage messages(String accountId, String id, int limit, Map<String, AttributeValue> start, boolean newestFirst) {
        Conversation conversation = find(accountId, id);
        var page = store.messages(accountId, id, limit, start, newestFirst);
        return new ThreadPage(conversation, page.items(), page.lastKey());
    }

    /** The partition a cursor of {@link #messages} must point into. */
    public static String threadPartition(String accountId, String id) {
        return ConversationStore.threadPk(accountId, id);
    }

    /**
     * Stores a participant's reply in the thread and relays it to every other participant (never back to its
     * author). Idempotent by the inbound message: a retry stores and sends nothing new.
     *
     * @param threadUlid the time-ordered part of the thread message's id, given when the reply was routed here: its
     *                   place in the thread (and its relay's id)
     * @param inboundId  the reply's inbound message, and {@code receivedAt} when it reached the line (both shown)
     */
    public void relay(String accountId, String conversationId, String threadUlid, String inboundId, long receivedAt,
                      String from, String body, List<String> mediaUrls) {
        // it joined the thread when its place was given: listed oldest first, the thread's times agree with its order
        long at = Ids.timeOf(threadUlid);
        Conversation c = store.get(accountId, conversationId).orElse(null);
        if (c == null) {
            Log.warn("relay_unknown_conversation", Map.of("conversationId", conversationId));
            return;
        }
        var message = new ThreadMessage(ThreadMessage.ID_PREFIX + threadUlid, c.id(), ThreadMessage.INBOUND, from, null,
                body, mediaUrls, at, inboundId, receivedAt);
        View view = view(c, accounts.account(accountId).settings());
        Line line = lines.find(accountId, c.lineId()).orElse(null);
        // the line's group messaging switched off: kept in the thread, going no further (shown so); a reply of invisible
        // characters alone (a no-break or zero-width space, which the webhook takes as text) was shown relayed,
        // relayed nothing, and made its conversation the most recently active one
        boolean empty = (body == null || Text.blank(body)) && mediaUrls.isEmpty();
        String status = empty ? EMPTY
                : ACTIVE.equals(view.status()) && line != null && !line.groupMessagingAllowed() ? LINE_OFF : view.status();
        // decided once, with the reply's store: a retry (its job failed after, publishing say) relays it or tells its
        // author it went nowhere as the first run did, not as the conversation is by then
        var stored = store.addReply(accountId, message, status);
        String outcome = stored.outcome() == null ? status : stored.outcome(); // null: stored before outcomes were
        if (!stored.first() && ACTIVE.equals(outcome) && !ACTIVE.equals(status)
                && !direct.exists(accountId, RELAY_MESSAGE_PREFIX + threadUlid)) {
            // the first run decided to relay it but stopped before its relay was made: nobody has it, so it goes as the
            // conversation is now (blocked since: its author is told), and the thread shows that
            outcome = status;
            store.correctOutcome(accountId, c.id(), message.id(), ACTIVE, outcome);
        }
        if (EMPTY.equals(outcome)) return;
        if (BLOCKED.equals(outcome) || CLOSED.equals(outcome)) {
            // a reply routed here before the conversation was closed, or one under block_conversation: kept, not relayed
            Log.info("relay_" + outcome, Map.of("conversationId", c.id(), "optedOut", view.optedOut().size()));
            if (BLOCKED.equals(outcome)) tellEnded(c, view, from, inboundId, threadUlid);
            return;
        }
        // only a conversation that goes on becomes the most recently active: a reply kept in a blocked one would draw
        // its participants' later replies away from the conversation that replaced it (one kept while the line's
        // group messaging is off still does, as before: its conversation goes on once it is switched back on)
        store.touch(accountId, c.id(), at, message);
        if (LINE_OFF.equals(outcome)) {
            Log.info("relay_line_off", Map.of("conversationId", c.id(), "lineId", c.lineId()));
            return;
        }
        List<String> to = view.reachable().stream().filter(p -> !p.equals(from)).toList();
        // invisible characters at the text's ends (a phone's no-break space, a pasted zero-width one) are not relayed
        // where that makes the copies GSM-7: each went as UCS-2, up to three times the segments (the thread keeps the
        // text as sent); a text that is UCS-2 anyway keeps them, a right-to-left mark that places its punctuation too
        String visible = Text.stripInvisible(body);
        boolean noText = visible == null || visible.isEmpty();
        String relayed = noText || SmsText.of(visible).encoding() == SmsText.Encoding.GSM_7 ? visible
                : Text.stripWhiteSpace(body); // white space at the ends goes anyway: it can cost a segment
        if (to.isEmpty() || line == null || (noText && mediaUrls.isEmpty())) return; // nothing to relay
        if (!line.groupMessagingAllowed()) {
            // switched off after a first run decided to relay it: the reply is kept in the thread, and goes no further
            Log.info("relay_line_not_group", Map.of("conversationId", c.id(), "lineId", line.id()));
            return;
        }
        String author = c.authorLabel(from);
        direct.send(RELAY_MESSAGE_PREFIX + threadUlid, accountId, line, MessageKind.CONVERSATION, to,
                // the thread keeps the whole reply; a picture alone goes with its author's name and no dangling space
                noText ? author + ":" : OutboundMessage.fitted(author + ": ", relayed), mediaUrls, c.id());
    }

    /**
     * Tells a participant whose text reached a blocked conversation, once, that it went no further: otherwise they
     * text into silence, as the conversation never ends for them. Not an opted-out one (only keyword answers go to
     * them). The notice answers their text as the business's direct replies do ({@code GET /v1/inbound/{id}/replies}).
     * A conversation the policy holds only while someone in it is opted out (no {@code blockedAt}: their START lets it
     * go on) is "on hold", told once too: told "has ended", and that once for good, a participant was never told when
     * it did end later. An opt-out of the last {@link #BLOCK_PENDING_MILLIS} is taken for one whose block for good is
     * on its way (its job marks {@code blockedAt} a moment after it): "has ended". Each kind's notice has its own id, so
     * a retry that decides the other kind (the block marked meanwhile) sends it too.
     */
    private void tellEnded(Conversation c, View view, String from, String inboundId, String threadUlid) {
        if (view.optedOut().contains(from) || inboundId == null) return;
        Line line = lines.find(c.accountId(), c.lineId()).orElse(null);
        long recently = clock.millis() - BLOCK_PENDING_MILLIS;
        boolean forGood = c.blockedAt() != null || view.optedOutAt().values().stream().anyMatch(at -> at >= recently);
        var notice = forGood ? ConversationStore.Notice.ENDED : ConversationStore.Notice.ON_HOLD;
        if (line == null || !store.claimNotice(c, from, inboundId, notice)) return;
        String noticeUlid = forGood ? threadUlid : com.github.f4b6a3.ulid.Ulid.from(threadUlid).increment().toString();
        direct.send(DirectReplies.idFor(inboundId, noticeUlid), c.accountId(), line, MessageKind.DIRECT_REPLY,
                List.of(from), forGood ? endedNotice(c) : onHoldNotice(c), List.of(),
                DirectMessages.orderToNumber(line, from));
        Log.info("conversation_" + notice.name().toLowerCase(java.util.Locale.ROOT) + "_notice",
                Map.of("conversationId", c.id(), "inboundId", inboundId));
    }

    /**
     * How long after an opt-out a blocked conversation without {@code blockedAt} is taken for one blocked for good (the
     * opt-out's job marks it; a policy switched to block_conversation after an opt-out holds it without): past its
     * job's retries in most cases.
     */
    static final long BLOCK_PENDING_MILLIS = 15 * 60_000;

    /** What a participant is told when their text reached a conversation on hold (see {@link #tellEnded}). */
    static String onHoldNotice(Conversation c) {
        return conversationName(c) + " is on hold, so your message was not passed on to the others.";
    }

    /** What a participant is told when their text reached a blocked conversation. */
    static String endedNotice(Conversation c) {
        return conversationName(c) + " has ended, so your message was not passed on to the others.";
    }

    /** The conversation as a notice names it: its name whole up to 40, else its first 37 (never half a surrogate pair) and "...". */
    private static String conversationName(Conversation c) {
        String name = c.name() == null || c.name().length() <= 40 ? c.name() : groupmsg.platform.api.Text.cut(c.name(), 37);
        return name == null || name.isBlank() ? "This group conversation" : "The group conversation \"" + name + "\"";
    }

    private View view(Conversation c, AccountSettings settings) {
        return view(c, settings, optOuts.optedOutAt(c.lineId(), c.participants().stream().map(Conversation.Participant::phone).toList()));
    }

    /** @param optedOutOfLine numbers opted out of the conversation's line, and when: its participants among them and maybe others */
    private View view(Conversation c, AccountSettings settings, Map<String, Long> optedOutOfLine) {
        Map<String, Long> optedOut = new HashMap<>();
        for (var p : c.participants()) {
            Long at = optedOutOfLine.get(p.phone());
            if (at != null) optedOut.put(p.phone(), at);
        }
        boolean blocked = ConversationBlocks.isBlocked(c, !optedOut.isEmpty(), settings.conversationOptOutPolicy());
        return new View(c, optedOut, c.closedAt() != null ? CLOSED : blocked ? BLOCKED : ACTIVE);
    }

    private Conversation find(String accountId, String id) {
        if (id == null || !id.startsWith(Conversation.ID_PREFIX)) throw ApiException.notFound("conversation");
        return store.get(accountId, id).orElseThrow(() -> ApiException.notFound("conversation"));
    }

    /**
     * The 400 for a list of more participants than any account allows ({@link AccountSettings#MAX_PARTICIPANTS}),
     * which the handler does not read: in the words {@link #create} uses for a count outside the account's range,
     * with the account's own maximum (after the same role check).
     */
    public ApiException tooManyParticipants(Caller caller, int given) {
        return participantCount(requireChatRole(caller).maxConversationParticipants(), given);
    }

    private static ApiException participantCount(int max, int given) {
        String problem = "must be " + AccountSettings.MIN_PARTICIPANTS + ".." + max
                + " distinct numbers (the account's maxConversationParticipants), got " + given;
        var detail = new LinkedHashMap<String, Object>();
        detail.put("field", "participants");
        detail.put("message", problem);
        return ApiException.invalid("participants " + problem, List.of(detail));
    }

    /**
     * 403 unless the caller's role may write conversations (groupChatRoles): for what a create reads before it (a
     * group's members), so a role refused them learns nothing of the group first.
     */
    public void requireMayWrite(Caller caller) {
        requireChatRole(caller);
    }

    private AccountSettings requireChatRole(Caller caller) {
        AccountSettings settings = accounts.account(caller.accountId()).settings();
        // the owner may do everything (API.md): a list without it (or an empty one) cannot lock the account out
        if (caller.role() != Role.OWNER && !settings.groupChatRoles().contains(caller.role())) {
            throw ApiException.forbidden("the " + caller.role().wireName() + " role may not write conversations in this account (groupChatRoles)");
        }
        return settings;
    }
}
