package groupmsg.inbound;

import groupmsg.conversations.ConversationRouter;
import groupmsg.groups.E164;
import groupmsg.lines.LineOwner;
import groupmsg.lines.LineService;
import groupmsg.platform.Log;
import groupmsg.platform.api.ApiException;
import groupmsg.platform.config.Ids;
import groupmsg.platform.config.Lazy;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.json.Json;
import groupmsg.optout.OptOutStore;
import groupmsg.platform.queue.Outbox;
import groupmsg.platform.queue.QueueMessage;
import groupmsg.platform.queue.QueueSender;
import groupmsg.platform.schema.QueueDef;
import groupmsg.platform.schema.Queues;
import groupmsg.platform.schema.Tables;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;

/**
 * Takes in what phones send to the business's lines. The webhook only routes, stores and enqueues (so the carrier
 * gets its answer fast): keywords go to the opt-out worker, everything else to the inbound worker, both through a
 * FIFO queue (see {@link #job}), staged in the outbox in the same transaction as the message.
 */
public final class InboundService {
    /**
     * A text as the carrier delivered it, in no carrier's dialect; {@code carrierKeyword}: the keyword the carrier itself took it for (Twilio's
     * {@code OptOutType} with Advanced Opt-Out: STOP, START or HELP, its own configured words included), or null.
     */
    public record InboundSms(String carrierMessageId, String from, String to, String body, List<String> mediaUrls,
                             String carrierKeyword) {
        public InboundSms(String carrierMessageId, String from, String to, String body, List<String> mediaUrls) {
            this(carrierMessageId, from, to, body, mediaUrls, null);
        }
    }

    public sealed interface Received permits Stored, Duplicate, UnknownLine, FromTheLine, Deferred {}

    /** Not received for a fault of ours: handed whole to the inbound queue, whose worker receives it. */
    public record Deferred() implements Received {}

    public record Stored(InboundMessage message) implements Received {}

    public record Duplicate() implements Received {}

    public record UnknownLine() implements Received {}

    /**
     * Sent by the line's own number (a carrier loop or a forged test), or by another line of the same account (its own
     * message): nobody to opt out, answer or relay to.
     */
    public record FromTheLine() implements Received {}

    private final InboundStore store;
    private final LineService lines;
    private final Outbox outbox;
    private final OptOutStore optOuts;
    private final QueueSender queue;
    /** Built on the first reply: the webhook mostly takes status callbacks, which never route (29 classes at init). */
    private final Lazy<ConversationRouter> router;
    private final Clock clock;
    private final Ids ids;

    public InboundService(Wiring wiring, QueueSender queue) {
        String core = wiring.config().table(Tables.CORE);
        this.store = new InboundStore(new DynamoOps(wiring.dynamo()), core);
        this.lines = new LineService(wiring);
        this.outbox = new Outbox(wiring.dynamo(), core, queue, wiring.clock());
        this.optOuts = new OptOutStore(new DynamoOps(wiring.dynamo()), core);
        this.queue = queue;
        this.router = new Lazy<>(() -> new ConversationRouter(wiring));
        this.clock = wiring.clock();
        this.ids = wiring.ids();
    }

    /**
     * The line {@code from} is, of any account, or empty. A lookup that fails takes it as anyone's: the text must be
     * stored whatever happens (Twilio does not resend a webhook answered 500).
     */
    private Optional<LineOwner> senderLine(LineOwner line, String from) {
        try {
            return lines.ownerOfPhone(from);
        } catch (RuntimeException e) {
            Log.error("inbound_sender_line_unknown", Map.of("lineId", line.lineId()), e);
            return Optional.empty();
        }
    }

    /**
     * Whether {@code from} is opted out of the line, for a "Yes". A lookup that fails takes it as not (a throttle on the
     * line's opt-outs is likeliest in a big broadcast, when most who answer "Yes" are not opted out): the Yes is then
     * relayed and published as the reply it mostly is, and the opt-out worker lifts nothing for it, so a number that was
     * opted out stays so (it can text START); and the text is stored whatever happens (no resend of a webhook
     * answered 500).
     */
    private boolean optedOut(LineOwner line, String from) {
        try {
            return optOuts.get(line.lineId(), from).isPresent();
        } catch (RuntimeException e) {
            Log.error("inbound_optout_unknown", Map.of("lineId", line.lineId()), e);
            return false;
        }
    }

    public Received receive(InboundSms sms) {
        return receive(sms, clock.millis(), () -> false, false);
    }

    /**
     * Receives a text that came at {@code receivedAt} (its time, and what routing takes as when it came: a text handed
     * on goes into no conversation created since); stores nothing once {@code handedOn} says another run has it.
     * {@code fromHandOn}: this is that run (the inbound worker's), the message {@link InboundMessage#handedOn}.
     */
    Received receive(InboundSms sms, long receivedAt, BooleanSupplier handedOn, boolean fromHandOn) {
        Optional<LineOwner> owner = lines.ownerOfPhone(sms.to());
        boolean deletedLine = false;
        if (owner.isEmpty()) {
            // the line the number had last, deleted since; a read that fails fails the receipt (receiveOrDefer hands
            // it on): taken for no line, a STOP to a deleted line's number was dropped
            owner = lines.formerOwnerOfPhone(sms.to());
            deletedLine = owner.isPresent();
        }
        if (owner.isEmpty()) {
            // Not ours (a misconfigured webhook, a number never ours, or one whose line was deleted before deletions
            // left a pointer to it): nothing to store.
            Log.warn("inbound_unknown_line", Map.of("to", sms.to(), "metric", "InboundUnknownLine"));
            return new UnknownLine();
        }
        if (sms.from().strip().equals(sms.to().strip())) {
            // a STOP stored from it opted the line out of itself, and its reply went to the line (refused, 21266)
            Log.warn("inbound_from_the_line", Map.of("lineId", owner.get().lineId()));
            return new FromTheLine();
        }
        var senderLine = senderLine(owner.get(), sms.from());
        if (senderLine.isPresent() && senderLine.get().accountId().equals(owner.get().accountId())) {
            // the business's own message (a group message or a relay from another of its lines, whose number is in the
            // group or the conversation): not a reply for its integrations, and relaying it would loop between the two
            Log.warn("inbound_from_own_line", Map.of("lineId", owner.get().lineId(), "metric", "InboundFromOwnLine"));
            return new FromTheLine();
        }
        // Another account's line: someone else writing, taken as any number (a person's number another account
        // registered as a line, by mistake or not, must not silence their STOP), but never into a conversation nor to
        // integrations: two accounts' conversations that hold each other's line relayed each reply back and forth for
        // ever, billed on both sides, and two accounts' bots answering each reply would too. A direct reply, marked.
        boolean fromAnotherAccountsLine = senderLine.isPresent();
        if (fromAnotherAccountsLine) {
            Log.warn("inbound_from_another_accounts_line", Map.of("lineId", owner.get().lineId(),
                    "metric", "InboundFromAnotherAccountsLine"));
        }
        // A sender name's or a short code's text ("AMAZON", "22395") is no keyword: nothing can be sent back to it (the
        // carrier refuses the answer), and its STOP opted out no number (a row and an event for "AMAZON"). A text.
        boolean fromANumber = E164.looksLike(sms.from().strip());
        var ours = fromANumber ? Keywords.classify(sms.body()) : Keywords.Classification.NONE;
        var classification = fromANumber ? Keywords.withCarrierKeyword(ours, sms.carrierKeyword()) : ours;
        if (deletedLine) return receiveForDeletedLine(sms, owner.get(), classification, receivedAt, handedOn, fromHandOn);
        // an opt-in only the carrier saw in the text (an account's own word at Twilio, "Si" say) may as well answer
        // something, as "Yes" does
        boolean carrierOnlyOptIn = ours.keyword() == null && classification.keyword() == Keywords.Keyword.OPT_IN;
        // "Yes" from a number that is not opted out answers something too: in a conversation the others are to see
        // it. It stays the opt-in API.md makes it (and is answered so), but goes through the inbound queue, relayed
        // in order with the sender's other texts, and the inbound worker then handles its opt-in.
        boolean alsoAReply = (Keywords.alsoAnEverydayAnswer(classification, sms.body()) || carrierOnlyOptIn)
                && !optedOut(owner.get(), sms.from().strip());
        boolean aReply = classification.keyword() == null || alsoAReply;
        // A reply is routed now, as it arrives: its conversation is the inbound queue's message group (see job), and
        // the API shows where it went from the start. A routing that fails leaves it to the inbound worker, as before:
        // the text must be stored whatever happens (Twilio does not resend a webhook answered 500).
        // A keyword (never relayed) is routed by its worker (routeKeyword): a STOP's opt-out is stored with it, and
        // routing first (up to 5 s for a number in hundreds of conversations) let the number's sends go on meanwhile.
        String conversationId = null;
        String fromName = null;
        boolean routed = fromAnotherAccountsLine; // routed to no conversation
        if (aReply && !fromAnotherAccountsLine) {
            try {
                var conversations = router.get(); // built before its time starts (a cold start's first use)
                var routing = conversations.route(owner.get().accountId(), owner.get().lineId(), sms.from().strip(), receivedAt,
                        clock.millis() + ConversationRouter.ON_ARRIVAL_MILLIS);
                if (routing != null) {
                    conversationId = routing.conversationId();
                    fromName = routing.senderName();
                }
                routed = true;
            } catch (RuntimeException e) {
                Log.error("inbound_routing_deferred", Map.of("lineId", owner.get().lineId(), "metric", "InboundRoutingDeferred"), e);
            }
        }
        var message = new InboundMessage(ids.next(InboundMessage.ID_PREFIX), owner.get().accountId(), owner.get().lineId(),
                sms.to().strip(), sms.from().strip(), sms.body(), sms.mediaUrls(), classification.keyword(),
                classification.possibleOptOut(), alsoAReply, conversationId, sms.carrierMessageId(), receivedAt, null,
                routed, null, null, fromName, null, fromAnotherAccountsLine, fromHandOn);
        if (handedOn.getAsBoolean()) return new Deferred(); // its hand-on's run stores it: no second try of the store
        return storeAndQueue(message, aReply ? Queues.INBOUND : Queues.OPTOUTS, sms.carrierKeyword());
    }

    /** The key of an inbound job that holds a text to receive ({@link #receiveOrDefer}). */
    static final String ARRIVED = "arrived";

    /**
     * {@link #receive}, or, when that fails for a fault of ours (a table throttled or unavailable after the SDK's
     * retries) or has not ended within {@code timeLimit}, the text handed whole to the inbound queue, whose worker
     * receives it as of when it came (a text received meanwhile, or twice, is a {@link Duplicate} by its carrier id).
     * Twilio does not resend a webhook answered 500: a STOP in a word it does not block by itself ("Remove", "Stop
     * please") was lost, and broadcasts went on reaching the number. Only a send the queue refuses too is still a 500.
     */
    public Received receiveOrDefer(InboundSms sms, Duration timeLimit) {
        long receivedAt = clock.millis();
        var handedOn = new AtomicBoolean();
        RuntimeException fault;
        boolean interrupted = false;
        if (timeLimit.toMillis() <= 0) {
            fault = new IllegalStateException("no time left to receive it");
        } else {
            // on a thread of its own, so a receipt slowed by the SDK's retries (a throttle's backoff: seconds per call)
            // is handed on in time for the send, rather than cut off with the function; left running, it stores nothing
            // once it sees the hand-on, and if it stored first, the worker's receipt is a duplicate (one claim of the
            // carrier id wins)
            var receiving = new CompletableFuture<Received>();
            Thread.ofVirtual().name(Thread.currentThread().getName() + "/receive").start(() -> {
                try {
                    receiving.complete(receive(sms, receivedAt, handedOn::get, false));
                } catch (Throwable t) {
                    receiving.completeExceptionally(t);
                }
            });
            try {
                return receiving.get(timeLimit.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof ApiException api) throw api;
                fault = e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
            } catch (TimeoutException e) {
                fault = new IllegalStateException("not received in " + timeLimit.toMillis() + " ms");
            } catch (InterruptedException e) {
                // set again after the hand-on: the SDK gives up a call made on an interrupted thread
                interrupted = true;
                fault = new IllegalStateException("interrupted while receiving", e);
            }
        }
        handedOn.set(true);
        Log.error("inbound_receive_deferred", Map.of("metric", "InboundReceiveDeferred"), fault);
        try {
            // its own message group, by line number and sender (its line is what could not be read)
            queue.send(Queues.INBOUND, List.of(new QueueMessage(arrivedJob(sms, receivedAt),
                    ARRIVED + "#" + sms.to().strip() + "#" + sms.from().strip(), ARRIVED + "-" + sms.carrierMessageId())));
        } catch (RuntimeException queueFault) {
            queueFault.addSuppressed(fault);
            throw queueFault;
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
        return new Deferred();
    }

    static String arrivedJob(InboundSms sms, long receivedAt) {
        var fields = new LinkedHashMap<String, Object>();
        fields.put("receivedAt", receivedAt);
        fields.put("carrierMessageId", sms.carrierMessageId());
        fields.put("from", sms.from());
        fields.put("to", sms.to());
        fields.put("body", sms.body());
        fields.put("mediaUrls", sms.mediaUrls());
        if (sms.carrierKeyword() != null) fields.put("carrierKeyword", sms.carrierKeyword());
        return Json.write(Map.of(ARRIVED, fields));
    }

    /** A text {@link #receiveOrDefer} handed on, and when it came. */
    record Arrived(InboundSms sms, long receivedAt) {}

    /** The text of an inbound job {@link #receiveOrDefer} handed on, or null when the job is none of those. */
    @SuppressWarnings("unchecked")
    static Arrived arrived(Map<String, Object> job) {
        if (!(job.get(ARRIVED) instanceof Map<?, ?> raw)) return null;
        var fields = (Map<String, Object>) raw;
        return new Arrived(new InboundSms((String) fields.get("carrierMessageId"), (String) fields.get("from"),
                (String) fields.get("to"), (String) fields.get("body"), List.copyOf((List<String>) fields.get("mediaUrls")),
                (String) fields.get("carrierKeyword")), ((Number) fields.get("receivedAt")).longValue());
    }

    /** Receives a text its webhook handed on ({@link #receiveOrDefer}), as of when it came. */
    Received receiveHandedOn(Arrived arrived) {
        return receive(arrived.sms(), arrived.receivedAt(), () -> false, true);
    }

    /**
     * Stores the message once (a resent webhook's is a {@link Duplicate}) with its job staged in the outbox, and a STOP's
     * opt-out, then sends the job to {@code queue}.
     */
    private Received storeAndQueue(InboundMessage message, QueueDef queue, String carrierKeyword) {
        var entry = outbox.entry(message.id(), queue, job(message));
        // A STOP is an opt-out from the moment it is stored, not from when its worker runs: see recordOnArrival.
        var optOut = message.keyword() == Keywords.Keyword.OPT_OUT
                ? optOuts.recordOnArrival(message.accountId(), message.lineId(), message.from(), message.id(), message.createdAt(),
                        Keywords.mayBeNetworkOptOut(message.body(), carrierKeyword))
                : null;
        if (!store.store(message, outbox.stage(entry), optOut)) {
            Log.info("inbound_duplicate", Map.of("carrierMessageId", message.carrierMessageId()));
            return new Duplicate();
        }
        // Stored and staged: if SQS fails now maintenance sends it, and the carrier still gets its 200 (no resend).
        outbox.dispatchOrLeave(entry);
        return new Stored(message);
    }

    /**
     * A text to a deleted line's number (no line has it since): a STOP or START is still recorded for that line, as it
     * is kept (its opt-outs come back with it when the account takes the number again; a broadcast's recipient who
     * answers STOP after the line went must stay opted out), and its worker sends nothing from the deleted line.
     * Anything else (a reply, HELP, a "Yes" from a number not opted out of it) goes nowhere, as before: nothing is stored.
     */
    private Received receiveForDeletedLine(InboundSms sms, LineOwner former, Keywords.Classification classification,
                                           long receivedAt, BooleanSupplier handedOn, boolean fromHandOn) {
        var keyword = classification.keyword();
        // a "Yes" is an opt-in only from a number opted out of that line (from anyone else it only answers)
        if (keyword != Keywords.Keyword.OPT_OUT && keyword != Keywords.Keyword.OPT_IN
                || Keywords.alsoAnEverydayAnswer(classification, sms.body()) && !optedOut(former, sms.from().strip())) {
            Log.warn("inbound_deleted_line", Map.of("lineId", former.lineId(), "metric", "InboundUnknownLine"));
            return new UnknownLine();
        }
        var message = new InboundMessage(ids.next(InboundMessage.ID_PREFIX), former.accountId(), former.lineId(),
                sms.to().strip(), sms.from().strip(), sms.body(), sms.mediaUrls(), keyword, classification.possibleOptOut(),
                false, null, sms.carrierMessageId(), receivedAt, null, true, null, null, null, null, false, fromHandOn);
        if (handedOn.getAsBoolean()) return new Deferred(); // as a live line's: its hand-on's run stores it
        var received = storeAndQueue(message, Queues.OPTOUTS, sms.carrierKeyword());
        if (received instanceof Stored) {
            Log.info("inbound_keyword_to_deleted_line", Map.of("lineId", former.lineId(), "keyword", keyword.wireName()));
        }
        return received;
    }

    /**
     * Queues again what was received in {@code [from, to)} and never finished: for a local runtime killed with the
     * jobs in its in-memory queues. A reply not yet published goes back to the inbound worker (its thread place,
     * relay and event are each done once); a keyword not yet handled to its worker ("Yes" that is also a reply: the
     * inbound worker), unless a later keyword of the same number on the line was handled: a STOP handled after a
     * later START would opt the number out anew. Oldest first, so each conversation's and each number's keep their
     * order. Returns how many were queued.
     */
    public int requeueUnfinished(long from, long to) {
        var found = store.unfinished(from, to);
        Map<String, Long> lastHandledKeyword = new java.util.HashMap<>();
        for (var u : found) {
            if (u.message().keyword() != null && u.handled()) {
                lastHandledKeyword.merge(u.message().lineId() + "#" + u.message().from(), u.message().createdAt(), Math::max);
            }
        }
        List<InboundMessage> again = new java.util.ArrayList<>();
        for (var u : found) {
            InboundMessage m = u.message();
            boolean keywordLeft = m.keyword() != null && !u.handled()
                    && lastHandledKeyword.getOrDefault(m.lineId() + "#" + m.from(), Long.MIN_VALUE) < m.createdAt();
            boolean replyLeft = (m.keyword() == null || m.alsoAReply()) && !u.published();
            if (keywordLeft || replyLeft) again.add(m);
        }
        again.sort(java.util.Comparator.comparingLong(InboundMessage::createdAt).thenComparing(InboundMessage::id));
        for (InboundMessage m : again) {
            queue.send(m.keyword() == null || m.alsoAReply() ? Queues.INBOUND : Queues.OPTOUTS, List.of(job(m)));
        }
        return again.size();
    }

    /** Records that a keyword's handling is done (see {@link #requeueUnfinished}). */
    public void markHandled(String accountId, String id) {
        store.markHandled(accountId, id, clock.millis());
    }

    /**
     * The keyword {@code m} with the conversation it came from (the one a reply of its sender would go to, as it was
     * when the text came), found once by its worker: what the API shows, and what tells a participant's STOP, which
     * leaves the conversation, from an answer to a group message ({@link AnswerLinks}). A retry keeps what the first
     * run found. A routing that fails, or reads past {@link ConversationRouter#ON_ARRIVAL_MILLIS}, leaves it unrouted
     * (logged): the keyword is handled all the same.
     */
    public InboundMessage routeKeyword(InboundMessage m) {
        // a "Yes" that is also a reply is routed as one (on arrival, or by the inbound worker that relayed it)
        if (m.routed() || m.alsoAReply()) return m;
        try {
            var conversations = router.get();
            var routing = conversations.routeKeyword(m.accountId(), m.lineId(), m.from(), m.createdAt(),
                    clock.millis() + ConversationRouter.ON_ARRIVAL_MILLIS);
            return store.recordKeywordRouting(m, routing == null ? null : routing.conversationId(),
                    routing == null ? null : routing.senderName());
        } catch (RuntimeException e) {
            // what it shows, and whether a STOP is a participant leaving: not worth holding up its confirmation, its
            // opt-in or its help reply (a failed job waits minutes, and its last failure loses them)
            Log.error("inbound_keyword_not_routed", Map.of("lineId", m.lineId(), "inboundId", m.id(),
                    "metric", "InboundRoutingDeferred"), e);
            return m;
        }
    }

    /** See {@link InboundStore#markLiftedOptOut}. */
    public TransactWriteItem markLiftedOptOut(String accountId, String id) {
        return store.markLiftedOptOut(accountId, id);
    }

    /** Whether the opt-out worker has handled the keyword {@code id} (see {@link #markHandled}). */
    public boolean handled(String accountId, String id) {
        return store.handled(accountId, id);
    }

    /** See {@link InboundStore#liftedOptOut}. */
    public boolean liftedOptOut(String accountId, String id) {
        return store.liftedOptOut(accountId, id);
    }

    /**
     * The queue message for a stored inbound message, de-duplicated by its id. FIFO per conversation for a reply in one
     * (the participants' replies take their places in the thread one after another, in the order they are relayed),
     * else per line and sender (a keyword, even one from a conversation's participant; a direct reply): either way one
     * person's texts keep their order, and a number's STOP and START are handled in the order they came.
     */
    static QueueMessage job(InboundMessage m) {
        boolean aReply = m.keyword() == null || m.alsoAReply();
        return new QueueMessage(Json.write(Map.of("accountId", m.accountId(), "inboundId", m.id())),
                aReply && m.conversationId() != null ? m.conversationId() : m.lineId() + "#" + m.from(), m.id());
    }

    public Optional<InboundMessage> get(String accountId, String id) {
        return store.get(accountId, id);
    }

    public record InboundPage(List<InboundMessage> messages, Map<String, AttributeValue> lastKey) {}

    /** What a list keeps besides its line and sender: each null for any. */
    /**
     * Records a person's review of a text (see {@link InboundStore#review}): the message as reviewed; a 409 when it was
     * reviewed the other way before.
     */
    public InboundMessage recordReview(String accountId, String id, InboundMessage.Review review) {
        return outcome(store.review(accountId, id, review));
    }

    /**
     * Claims a decision before its steps are taken (see {@link InboundStore#claimReview}): a 409 when the text was
     * reviewed, or is being reviewed, the other way.
     */
    public void claimReview(String accountId, String id, boolean optOut) {
        outcome(store.claimReview(accountId, id, optOut));
    }

    private static InboundMessage outcome(InboundStore.Reviewed reviewed) {
        if (reviewed instanceof InboundStore.Reviewed.Recorded r) return r.message();
        if (reviewed instanceof InboundStore.Reviewed.DecidedOtherwise d) throw reviewedOtherwise(d.review());
        if (reviewed instanceof InboundStore.Reviewed.ClaimedOtherwise c) {
            throw ApiException.conflict("the text is being reviewed as " + (c.optOut() ? "opt_out" : "not_opt_out")
                    + " (a request that may not have finished: send that decision again to complete it)");
        }
        throw ApiException.notFound("inbound message");
    }

    /** The answer to a second review that disagrees with the first: the first stands. */
    public static ApiException reviewedOtherwise(InboundMessage.Review first) {
        return ApiException.conflict("the text was reviewed as " + first.decision() + " at "
                + groupmsg.platform.api.Timestamps.format(first.reviewedAt()) + "; that stands (record or remove an "
                + "opt-out with POST /v1/opt-outs or DELETE /v1/opt-outs/{lineId}/{phone})");
    }

    /**
     * Whether the sender of {@code m} texted START (an opt-in that lifts an opt-out; a "Yes" that was only a reply does
     * not) to its line after it: then they asked for messages again since, and {@code m} is no opt-out any more.
     */
    public boolean optedInAfter(InboundMessage m) {
        return optedInAfter(m.accountId(), m.lineId(), m.from(), m.id());
    }

    /**
     * Whether {@code from} texted, at or after {@code since} (epoch ms), an opt-in that the carrier took as lifting its
     * block of the number on the line: a START to the line; and, on a line whose block is the Messaging Service's (not
     * a +1 toll-free network's own), any opt-in to any of the account's lines, a "Yes" we took for a reply too (the
     * carrier knows no replies: Yes is one of its opt-in words), as OptOutService lifts carrier refusals on the other
     * lines for each. So a late "unsubscribed" of a message sent before does not opt the number out again.
     */
    public boolean carrierOptedInSince(String accountId, String lineId, String from, long since) {
        String afterId = InboundMessage.ID_PREFIX + Ids.lowestAt(since);
        Predicate<InboundMessage> startToTheLine = m -> m.lineId().equals(lineId) && !m.alsoAReply();
        List<InboundMessage> optIns = optInsAfter(accountId, null, from, afterId, startToTheLine);
        if (optIns.stream().anyMatch(startToTheLine)) return true;
        if (optIns.isEmpty()) return false;
        // the network's own block (a +1 toll-free line) lifts only by a START to it
        return lines.find(accountId, lineId).filter(line -> !line.carrierAnswersOptOuts()).isPresent();
    }

    /** {@link #optedInAfter(InboundMessage)} of the text {@code afterId}, or a time's lowest id. */
    private boolean optedInAfter(String accountId, String lineId, String from, String afterId) {
        Predicate<InboundMessage> start = m -> !m.alsoAReply();
        return optInsAfter(accountId, lineId, from, afterId, start).stream().anyMatch(start);
    }

    /**
     * The opt-in keywords (with "Yes"es that were also replies) from {@code from} after the text {@code afterId}, to
     * the line, or to any line when {@code lineId} is null; newest first, but the last minute's first (read apart).
     * Read no further once one is {@code enough} (the caller's answer is known then).
     */
    private List<InboundMessage> optInsAfter(String accountId, String lineId, String from, String afterId,
                                             Predicate<InboundMessage> enough) {
        // the last minute from the table itself: the sender index below can lag a START that just came
        List<InboundMessage> found = new ArrayList<>(store.recentOptIns(accountId, from, afterId, clock.millis()).stream()
                .filter(m -> lineId == null || m.lineId().equals(lineId)).toList());
        if (found.stream().anyMatch(enough)) return found;
        var optIns = new ListFilter(null, new KeywordFilter(Keywords.Keyword.OPT_IN), null);
        Map<String, AttributeValue> start = null;
        do {
            var page = store.list(accountId, lineId, from, optIns, 20, start);
            for (InboundMessage later : page.messages()) {
                if (later.id().compareTo(afterId) <= 0) return found; // newest first: the rest came before it
                if (found.stream().noneMatch(m -> m.id().equals(later.id()))) found.add(later);
                if (enough.test(later)) return found;
            }
            start = page.lastKey();
        } while (start != null);
        return found;
    }

    /** @param reviewed only texts a person reviewed (true), or not yet (false); null for both */
    public record ListFilter(Boolean possibleOptOut, KeywordFilter keyword, Boolean reviewed) {}

    /** Only messages with this keyword ({@code keyword} non-null), or only those without one. */
    public record KeywordFilter(Keywords.Keyword keyword) {}

    /**
     * A page of the account's inbound messages; 404 for a {@code lineId} that is none of the account's lines (in use or
     * deleted), as the opt-outs' list answers: an empty list looked like "no texts" for a mistyped id.
     */
    public InboundPage list(String accountId, String lineId, String from, ListFilter filter, int limit,
                            Map<String, AttributeValue> start) {
        if (lineId != null && lines.findKept(accountId, lineId).isEmpty()) throw ApiException.notFound("line");
        var page = store.list(accountId, lineId, from, filter, limit, start);
        return new InboundPage(page.messages(), page.lastKey());
    }

    /** The partition attribute and value a cursor of {@link #list} must point into. */
    public static Map.Entry<String, String> listPartition(String accountId, String lineId, String from) {
        var p = InboundStore.partition(accountId, lineId, from);
        return Map.entry(p.attribute(), p.value());
    }
}
