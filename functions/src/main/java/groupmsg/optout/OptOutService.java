package groupmsg.optout;

import groupmsg.conversations.ConversationBlocks;
import groupmsg.groups.PhoneNumbers;
import groupmsg.platform.SideBySide;
import groupmsg.groups.GroupService;
import groupmsg.inbound.InboundMessage;
import groupmsg.inbound.InboundService;
import groupmsg.lines.Line;
import groupmsg.lines.LineService;
import groupmsg.inbound.Keywords;
import groupmsg.messages.DirectMessages;
import groupmsg.messages.MessageKind;
import groupmsg.platform.Log;
import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.CsvPart;
import groupmsg.platform.api.Timestamps;
import groupmsg.platform.config.Ids;
import groupmsg.platform.config.Lazy;
import groupmsg.inbound.AnswerLinks;
import groupmsg.messages.BroadcastReplies;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.Cursor;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.notify.EventPublisher;
import groupmsg.notify.Topic;
import groupmsg.platform.json.Json;
import groupmsg.platform.queue.Outbox;
import groupmsg.platform.queue.QueueMessage;
import groupmsg.platform.queue.QueueSender;
import groupmsg.platform.schema.Queues;
import groupmsg.platform.schema.Tables;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.LinkedHashSet;

/**
 * STOP, START and HELP, and opt-outs the business records by hand.
 * <ul>
 *   <li>STOP: the opt-out is recorded (source {@code keyword}); the line's {@code optOutReply} is sent once, for
 *       the message that caused the opt-out (a STOP from a number that already texted STOP gets no second reply).
 *       A number opted out by the business ({@code POST /v1/opt-outs}) or by a carrier error never had the
 *       confirmation: its first STOP gets it (and makes the opt-out a keyword one).</li>
 *   <li>An opt-out of either kind blocks, for good, the number's conversations on the line when the account's policy
 *       is {@code block_conversation} ({@link ConversationBlocks}).</li>
 *   <li>START: the opt-out is removed and {@code optInReply} sent. HELP: {@code helpReply} is sent, opted out
 *       or not.</li>
 *   <li>Toll-free lines: the carrier itself answers STOP and START on toll-free numbers (and blocks the number
 *       at its end), so the opt-out is recorded or removed but no reply of ours is sent; HELP is answered. A line
 *       declared toll-free whose number is not one gets our replies ({@link Line#carrierAnswersOptOuts}).</li>
 * </ul>
 * Replies are {@link MessageKind#KEYWORD_REPLY} messages ({@link MessageKind#OPT_IN_REPLY} for START, which an
 * opt-out stops) with an id derived from the inbound message, so a retried job creates no second reply; they go
 * through the delivery pipeline (paced, recorded, billed).
 */
public final class OptOutService {
    static final String REPLY_ID_PREFIX = "rpl_";

    private final OptOutStore store;
    private final InboundService inbound;
    private final LineService lines;
    private final DirectMessages direct;
    /** Built at the first opt-out: functions that only answer START or HELP, or list, never load it. */
    private final Lazy<ConversationBlocks> conversations;
    private final Outbox outbox;
    private final groupmsg.platform.config.Ids ids;
    /** Built at the first STOP, as the blocks are. */
    private final Lazy<AnswerLinks> answers;
    private final Clock clock;
    private final EventPublisher events;

    public OptOutService(Wiring wiring, QueueSender queue) {
        this.store = new OptOutStore(new DynamoOps(wiring.dynamo()), wiring.config().table(Tables.CORE));
        this.inbound = new InboundService(wiring, queue);
        this.lines = new LineService(wiring);
        this.direct = new DirectMessages(wiring, queue);
        this.conversations = new Lazy<>(() -> new ConversationBlocks(wiring));
        this.outbox = new Outbox(wiring.dynamo(), wiring.config().table(Tables.CORE), queue, wiring.clock());
        this.ids = wiring.ids();
        this.answers = new Lazy<>(() -> new AnswerLinks(wiring));
        this.clock = wiring.clock();
        this.events = wiring.events();
    }

    /** The event an integration (a CRM keeping its own do-not-text list) learns of a number's opt-out changing by. */
    public static final String CHANGE_EVENT = "opt_out.changed";

    /**
     * Publishes that the number is now opted out of the line, or not, to the integrations topic (and so to the
     * account's webhooks): {@code {lineId, phone, optedOut, source, inboundId, at}}. At least once: a keyword's job
     * publishes before it is marked handled, so its retry publishes again (receivers key on changeId when there is
     * one, else on inboundId).
     */
    private void publishChange(String accountId, String lineId, String phone, boolean optedOut, String source,
                               String inboundId, long at) {
        publishChange(accountId, lineId, phone, optedOut, source, inboundId, null, null, at);
    }

    /**
     * @param inReplyTo the group message a STOP answers (null for none, and for every other change)
     * @param changeId  what identifies a change no text made (by hand, a carrier's error) or a START's lift on another
     *                  line, the same on each retry of its job: receivers (and the webhooks' event id) key on it before
     *                  a keyword's inboundId; null for a text's own change
     */
    private void publishChange(String accountId, String lineId, String phone, boolean optedOut, String source,
                               String inboundId, BroadcastReplies.Answered inReplyTo, String changeId, long at) {
        var event = new LinkedHashMap<String, Object>();
        event.put("lineId", lineId);
        event.put("phone", phone);
        event.put("optedOut", optedOut);
        event.put("source", source);
        event.put("inboundId", inboundId);
        if (changeId != null) event.put("changeId", changeId);
        event.put("inReplyTo", AnswerLinks.json(inReplyTo));
        event.put("at", groupmsg.platform.api.Timestamps.format(at));
        events.publish(Topic.INTEGRATIONS, accountId, CHANGE_EVENT, event);
    }

    /** Handles one keyword message (the opt-out worker's job; the inbound worker's for a "Yes" it relayed). */
    public void handleKeyword(String accountId, String inboundId) {
        InboundMessage text = inbound.get(accountId, inboundId).orElse(null);
        if (text == null || text.keyword() == null) {
            Log.warn("optout_job_without_keyword", Map.of("inboundId", inboundId));
            return;
        }
        // a line deleted since the text came: its opt-out or opt-in is still recorded, published and linked (it is
        // kept under the line's id, which comes back with the number), but nothing is sent from it any more
        Line line = lines.findKept(accountId, text.lineId()).orElse(null);
        boolean deleted = line != null && line.deleted();
        if (line == null) {
            Log.warn("optout_line_gone", Map.of("inboundId", inboundId, "lineId", text.lineId()));
            return;
        }
        // the conversation it came from, first (see routeKeyword)
        InboundMessage m = inbound.routeKeyword(text);
        MessageKind kind = m.keyword() == Keywords.Keyword.OPT_IN ? MessageKind.OPT_IN_REPLY : MessageKind.KEYWORD_REPLY;
        // published after the reply is on its way: a topic refusing (an outage, a throttle, a permission) fails the job
        // for a retry minutes later, and the number's confirmation waited behind each retry (lost with the last)
        List<Runnable> publishAfterReply = new ArrayList<>();
        String reply = switch (m.keyword()) {
            case OPT_OUT -> {
                // ours: this STOP is the one the number gets its confirmation for (see OptOutStore.recordKeyword)
                boolean ours = store.recordKeyword(accountId, line.id(), m.from(), m.id(), clock.millis());
                if (!ours && store.get(line.id(), m.from()).isEmpty()) {
                    // lifted after it arrived (by hand, or a START handled while this job was held back): it stays
                    // lifted, and nothing follows from it (no block of the number's conversations, no "opted out"
                    // event after the "opted in" one)
                    Log.info("opt_out_lifted_before_handled", Map.of("lineId", line.id(), "inboundId", m.id()));
                    yield null;
                }
                conversations.get().afterOptOut(accountId, line.id(), m.from(), m.createdAt());
                // the group message it answers counts it, and the event says which
                var answered = answers.get().linkOptOut(m);
                publishAfterReply.add(() -> publishChange(accountId, line.id(), m.from(), true, OptOutStore.SOURCE_KEYWORD,
                        m.id(), answered, null, m.createdAt()));
                Log.info("opted_out", Map.of("lineId", line.id(), "inboundId", m.id(), "confirmed", ours));
                yield ours ? stopConfirmation(line, m) : null;
            }
            case OPT_IN -> {
                // The toll-free network answers START and UNSTOP itself, lifting its own block; "Yes" it does not know,
                // nor "START*" (see networkMayTakeOptIn)
                boolean networkAnswers = line.carrierAnswersOptOuts()
                        && !Keywords.alsoAnEverydayAnswer(new Keywords.Classification(m.keyword(), false), m.body())
                        && Keywords.networkMayTakeOptIn(m.body());
                if (m.alsoAReply()) {
                    // Not opted out when it arrived: nothing to lift here. An opt-out recorded since (by hand, a
                    // carrier error) stands, and then nothing says "subscribed again". Else the carrier took the Yes
                    // for an opt-in of the Messaging Service all the same: refusals elsewhere go (see below).
                    if (store.get(line.id(), m.from()).isPresent()) yield null;
                    liftCarrierRefusalsOnOtherLines(accountId, line, m);
                    // in a conversation, answered once a day: there "Yes" answers most questions, and each one earned
                    // its author "You are resubscribed" (billed) though they were never unsubscribed; a Yes to the line
                    // itself (a broadcast's "reply YES to confirm") is answered every time, as API.md has it
                    if (!deleted && m.conversationId() != null && Keywords.alsoAnEverydayAnswer(
                            new Keywords.Classification(m.keyword(), false), m.body())
                            && !store.claimEverydayOptInReply(line.id(), m.from(), m.id(), clock.millis())) {
                        Log.info("opt_in_reply_not_repeated", Map.of("lineId", line.id(), "inboundId", m.id()));
                        yield null;
                    }
                } else if (line.carrierAnswersOptOuts() && !networkAnswers && store.fromTheNetworksSide(line.id(), m.from())) {
                    // a "Yes" from a number that texted STOP to a toll-free line (or that the carrier refused as
                    // unsubscribed): the network still blocks the number until it texts START, so ours stays (lifted,
                    // the next send's refusal would record it again) and no reply of ours could reach it. One opted
                    // out by hand or by review the network knows nothing of: lifted as on any line.
                    Log.info("opt_in_not_lifted_network_blocks", Map.of("lineId", line.id(), "inboundId", m.id()));
                    yield null;
                } else {
                    // told only when this START lifted an opt-out (now, or in a run of its job that failed after):
                    // not for a number that was never opted out, nor when a STOP that came after it keeps it
                    if (store.removeForOptIn(line.id(), m.from(), m.id(), m.createdAt(), m.handedOn(),
                            inbound.markLiftedOptOut(accountId, m.id()))
                            || inbound.liftedOptOut(accountId, m.id())) {
                        publishAfterReply.add(() -> publishChange(accountId, line.id(), m.from(), false,
                                OptOutStore.SOURCE_KEYWORD, m.id(), m.createdAt()));
                    } else if (!deleted) {
                        confirmLaterStop(accountId, line, m);
                    }
                    // only while the START stands here: a STOP after it (recorded as it came) keeps the number opted
                    // out, the carrier's last word too, and lifts elsewhere would tell a CRM of an opt-in that is not
                    if (store.get(line.id(), m.from()).isEmpty()) liftCarrierRefusalsOnOtherLines(accountId, line, m);
                }
                Log.info("opted_in", Map.of("lineId", line.id(), "inboundId", m.id()));
                yield networkAnswers ? null : line.optInReply();
            }
            case HELP -> line.helpReply();
        };
        if (!deleted) sendReply(accountId, line, kind, m, reply);
        publishAfterReply.forEach(Runnable::run);
        inbound.markHandled(accountId, m.id());
    }

    /**
     * The line's confirmation of {@code stop}: none when the toll-free network answers its word (STOP) itself, which
     * cannot be kept from it; the other words it neither answers nor blocks, so their confirmation is ours.
     */
    private static String stopConfirmation(Line line, InboundMessage stop) {
        return line.carrierAnswersOptOuts() && Keywords.networkOptOut(stop.body()) ? null : line.optOutReply();
    }

    /**
     * Sends {@code reply} (none when null or blank) to the sender of {@code text}, as its answer ({@code rpl_<its id>}:
     * one message however often it is sent); true when that message is new. Through the relays queue, in order with the
     * line's other answers to the number: a STOP's confirmation sent by a fresh job could reach the phone after the
     * START's reply that followed it ("unsubscribed" last, while subscribed).
     */
    private boolean sendReply(String accountId, Line line, MessageKind kind, InboundMessage text, String reply) {
        if (reply == null || reply.isBlank()) return false;
        return direct.send(REPLY_ID_PREFIX + text.id(), accountId, line, kind, List.of(text.from()), reply, List.of(),
                DirectMessages.orderToNumber(line, text.from()));
    }

    /**
     * A STOP that came after the START {@code start}, to which {@link OptOutStore#removeForOptIn} left the opt-out, is
     * confirmed from here too: its own job may have run first (the START's queueing redriven after the STOP's, or two
     * webhooks queued the other way round), found the opt-out still an earlier STOP's, and sent nothing; the number's
     * last word was STOP and it got no confirmation. One message either way: it has the STOP's reply id, and goes
     * before the START's own answer (which the opt-out then stops) in the number's order.
     */
    private void confirmLaterStop(String accountId, Line line, InboundMessage start) {
        String stopId = store.laterStopCause(line.id(), start.from(), start.id(), start.createdAt(), start.handedOn()).orElse(null);
        if (stopId == null) return;
        InboundMessage stop = inbound.get(accountId, stopId).orElse(null);
        // sent again when it exists (its own job's, or this job's run before whose enqueue failed): one message still
        if (stop != null && sendReply(accountId, line, MessageKind.KEYWORD_REPLY, stop, stopConfirmation(line, stop))) {
            Log.info("later_stop_confirmed", Map.of("lineId", line.id(), "inboundId", stop.id(), "startId", start.id()));
        }
    }

    /** An opt-outs queue job's kind: what follows a carrier's "unsubscribed" ({@link CarrierOptOuts} records the opt-out). */
    public static final String KIND_CARRIER_OPT_OUT = "carrier_opt_out";

    /**
     * The job {@link CarrierOptOuts} queues for a carrier's "unsubscribed" it recorded (the delivery worker's at a send,
     * the receipt worker's and maintenance's for one reported after it): {@link #afterCarrierOptOut}, in
     * the number's message group (after any STOP or START of it queued before), once per opt-out (its time in the id).
     */
    public static QueueMessage carrierOptOutJob(String accountId, String lineId, String phone, long at) {
        return new QueueMessage(Json.write(numberJob(KIND_CARRIER_OPT_OUT, accountId, lineId, phone, at)), lineId + "#" + phone,
                carrierOptOutId(lineId, phone, at));
    }

    /** A carrier opt-out's id: its job's FIFO de-duplication id and outbox entry's, and its event's changeId. */
    private static String carrierOptOutId(String lineId, String phone, long at) {
        return "carrier-" + lineId + "-" + phone.substring(1) + "-" + at;
    }

    /** The body of a job of the opt-out worker about one number of a line, at {@code at}. */
    private static Map<String, Object> numberJob(String kind, String accountId, String lineId, String phone, long at) {
        var body = new LinkedHashMap<String, Object>();
        body.put("kind", kind);
        body.put("accountId", accountId);
        body.put("lineId", lineId);
        body.put("phone", phone);
        body.put("at", at);
        return body;
    }

    /**
     * What follows a carrier opt-out at {@code at}: the number's conversations on the line blocked (under
     * block_conversation; idempotent, the first time stays) and {@code opt_out.changed} published (source
     * carrier_error; again on a retry). The queue retries it until both are done.
     */
    public void afterCarrierOptOut(String accountId, String lineId, String phone, long at) {
        conversations.get().afterOptOut(accountId, lineId, phone, at);
        // told only while it stands: a START handled since lifted it and told that (as tellChange)
        if (store.get(lineId, phone).isEmpty()) {
            Log.info("carrier_opt_out_superseded", Map.of("lineId", lineId));
            return;
        }
        publishChange(accountId, lineId, phone, true, OptOutStore.SOURCE_CARRIER_ERROR, null, null,
                carrierOptOutId(lineId, phone, at), at);
    }

    /** A line's opt-outs; a deleted line's too (kept: they apply again if the line comes back). */
    public OptOutStore.Page list(String accountId, String lineId, int limit, Map<String, AttributeValue> start) {
        requireKeptLine(accountId, lineId);
        return store.list(lineId, limit, start);
    }

    /** A page of the account's opt-outs on every line, and the cursor of the next (null after the last). */
    public record AccountPage(List<OptOut> optOuts, String nextCursor) {}

    /**
     * The account's opt-outs on all its lines: line by line (oldest line first), each in number order. The cursor
     * is the key of the last one listed, so it names its line; a page that ends with a line's last opt-out points
     * there too when a later line has any (the next page goes on with it), and is the last page otherwise. A page
     * reads lines for {@link #ACROSS_LINES_READ_MILLIS} at most (at least one): an account with a thousand lines is
     * a thousand queries, past its function's 10 s; its cursor then points past the last line read, and the page may
     * hold fewer opt-outs than asked for, or none.
     */
    public AccountPage listAll(String accountId, int limit, String cursor) {
        return listAcross(accountId, allLineIds(accountId), true, limit, cursor, clock.millis() + ACROSS_LINES_READ_MILLIS);
    }

    /** How long one page or export part of the account's opt-outs reads lines (see {@link #listAll}). */
    public static final long ACROSS_LINES_READ_MILLIS = 5_000;

    /**
     * {@link #listAll} over these lines, in this order (ids, which sort by creation). The cursor must point into one
     * of them, or ({@code acrossTheAccount}, the list of all its lines) into a line of the account deleted since the
     * page before: the list goes on with the next line.
     */
    private AccountPage listAcross(String accountId, List<String> lineIds, boolean acrossTheAccount, int limit, String cursor,
                                   long readUntil) {
        List<String> partitions = lineIds.stream().map(OptOutStore::listPartition).toList();
        String[] deleted = new String[1]; // the deleted line the cursor points into, looked up once
        Map<String, AttributeValue> start = Cursor.decode(cursor, "pk", pk -> partitions.contains(pk)
                || acrossTheAccount && (deleted[0] = deletedLineOf(accountId, pk)) != null);
        int line = start == null ? 0 : partitions.indexOf(start.get("pk").s());
        if (line < 0) {
            line = (int) lineIds.stream().filter(id -> id.compareTo(deleted[0]) < 0).count();
            start = null;
        }
        List<OptOut> listed = new ArrayList<>();
        Map<String, AttributeValue> lastKey = null;
        int firstLine = line;
        for (; line < lineIds.size() && listed.size() < limit; line++, start = null) {
            if (line > firstLine && clock.millis() >= readUntil) return new AccountPage(listed, afterLine(lineIds.get(line - 1)));
            var page = store.list(lineIds.get(line), limit - listed.size(), start);
            listed.addAll(page.optOuts());
            lastKey = page.lastKey();
            if (lastKey != null) break; // the page is full within this line
        }
        if (lastKey == null && listed.size() == limit && anyOn(lineIds.subList(line, lineIds.size()), readUntil)) {
            // full at the end of a line, with more on a later one: the next page starts after this one's last
            return new AccountPage(listed, keyAfter(listed.getLast()));
        }
        return new AccountPage(listed, Cursor.encode(lastKey));
    }

    /** One part of an opt-out export: CSV text, and the cursor of the next part (null: none). */
    public record ExportPart(String csv, String nextCursor) {}

    /** The most opt-outs one part of an export holds. */
    public static final int EXPORT_MAX_ROWS = 50_000;
    /** The list's fields, then the line's own number (a line id alone means nothing to a person reading the file). */
    static final String EXPORT_HEADER = "lineId,phone,source,createdAt,linePhone\n";
    private static final int EXPORT_STEP = 1000;

    /**
     * The opt-outs as CSV (the list's fields and the line's number), of the line when given (a deleted one's too, as its list), else of
     * every line of the account, as {@link #listAll} pages them; from {@code cursor} (the lists' own), until the part
     * holds {@code limit} rows or its next row would take it over {@code maxBytes} as the answer carries it. The next
     * part starts after its last row.
     */
    public ExportPart export(String accountId, String lineId, int limit, String cursor, long maxBytes) {
        List<Line> exported = lineId != null
                ? List.of(requireKeptLine(accountId, lineId)) : allLines(accountId);
        List<String> lineIds = exported.stream().map(Line::id).toList();
        Map<String, String> linePhones = exported.stream().collect(java.util.stream.Collectors.toMap(Line::id, Line::phone));
        var part = new CsvPart(EXPORT_HEADER, maxBytes);
        OptOut last = null;
        String next = cursor;
        long readUntil = clock.millis() + ACROSS_LINES_READ_MILLIS;
        do {
            var page = listAcross(accountId, lineIds, lineId == null, Math.min(EXPORT_STEP, limit - part.rows()), next, readUntil);
            for (OptOut o : page.optOuts()) {
                if (!part.add(o.lineId() + "," + o.phone() + "," + o.source() + "," + Timestamps.format(o.createdAt())
                        + "," + linePhones.getOrDefault(o.lineId(), ""))) {
                    return new ExportPart(part.text(), keyAfter(last));
                }
                last = o;
            }
            next = page.nextCursor();
        } while (next != null && part.rows() < limit && clock.millis() < readUntil);
        return new ExportPart(part.text(), next);
    }

    /** The cursor after every opt-out of a line: a key past any phone number in its partition ({@code ~} sorts after {@code +}). */
    private static String afterLine(String lineId) {
        return Cursor.encode(Attr.key(OptOutStore.listPartition(lineId), "~"));
    }

    /** The cursor after an opt-out: its key, as the lists' cursors are. */
    private static String keyAfter(OptOut o) {
        return Cursor.encode(Attr.key(OptOutStore.listPartition(o.lineId()), o.phone()));
    }

    /**
     * One number's opt-outs: of the line when given (404 for no such line), else of every line of the account, in
     * the lines' order (oldest first). A number has at most one per line, so this is one page.
     */
    public List<OptOut> ofNumber(String accountId, String lineId, String phone) {
        if (lineId != null) {
            requireKeptLine(accountId, lineId);
            return store.get(lineId, phone).map(List::of).orElse(List.of());
        }
        List<String> lineIds = allLineIds(accountId);
        Map<String, OptOut> byLine = new HashMap<>();
        store.ofNumber(lineIds, phone).forEach(o -> byLine.put(o.lineId(), o));
        return lineIds.stream().filter(byLine::containsKey).map(byLine::get).toList();
    }

    /** The id of the account's deleted line whose opt-outs' partition {@code pk} is, or null. */
    private String deletedLineOf(String accountId, String pk) {
        String prefix = OptOutStore.listPartition("");
        if (!pk.startsWith(prefix)) return null;
        String lineId = pk.substring(prefix.length());
        return lines.findKept(accountId, lineId).filter(Line::deleted).map(Line::id).orElse(null);
    }

    /** The account's line ids, oldest first. */
    private List<String> allLineIds(String accountId) {
        return allLines(accountId).stream().map(Line::id).toList();
    }

    /** The account's lines in use, oldest first. */
    private List<Line> allLines(String accountId) {
        List<Line> all = new ArrayList<>();
        Map<String, AttributeValue> linesFrom = null;
        do {
            var page = lines.list(accountId, 100, linesFrom);
            all.addAll(page.lines());
            linesFrom = page.lastKey();
        } while (linesFrom != null);
        return all;
    }

    /**
     * Whether any of {@code lineIds} has an opt-out (so a page that ends at a line's end is not the last); true, too,
     * once out of time: the next page looks on.
     */
    private boolean anyOn(List<String> lineIds, long readUntil) {
        for (String id : lineIds) {
            if (clock.millis() >= readUntil || !store.list(id, 1, null).optOuts().isEmpty()) return true;
        }
        return false;
    }

    /**
     * A person's review of a text no keyword matched (flagged {@code possibleOptOut}, such as "stop texting me", or
     * any other): whether it asked for no more messages. The first decision stands (the same one again changes
     * nothing; the other is a 409). An opt-out is handled as a STOP of that text would be, on the line it came to: the
     * opt-out recorded (source {@code review}), the number's conversations there blocked under
     * {@code block_conversation}, the group message it answers counting it, {@code opt_out.changed} published and the
     * line's {@code optOutReply} sent, as the number did not use a keyword its carrier knows (none of these when the
     * number was opted out already). The review is recorded last, so a request that failed part way is retried whole.
     *
     * @param reviewedBy the API key's id
     */
    public InboundMessage review(String accountId, String inboundId, boolean optOut, String reviewedBy) {
        if (!inboundId.startsWith(InboundMessage.ID_PREFIX)) throw ApiException.notFound("inbound message");
        InboundMessage m = inbound.get(accountId, inboundId).orElseThrow(() -> ApiException.notFound("inbound message"));
        if (m.keyword() != null) {
            throw ApiException.conflict("the text is the keyword " + m.keyword().wireName()
                    + ", handled as one when it came; there is nothing to review");
        }
        if (m.review() != null) {
            if (m.review().optOut() == optOut) return m;
            throw InboundService.reviewedOtherwise(m.review());
        }
        Line line = null;
        if (optOut) {
            // checked before the claim: a refused opt-out leaves the text to be reviewed otherwise
            line = lines.find(accountId, m.lineId()).orElseThrow(() -> ApiException.notFound("line"));
            if (inbound.optedInAfter(m)) {
                throw ApiException.conflict("the number texted START to the line after this text: it asked for messages again");
            }
        }
        // Claimed first: from here another decision is refused, also if this request fails part way (its retry, the
        // same decision, goes on). Recorded once its steps are done.
        inbound.claimReview(accountId, m.id(), optOut);
        long at = clock.millis();
        if (optOut) optOutByReview(m, line, at);
        return inbound.recordReview(accountId, m.id(), new InboundMessage.Review(optOut, at, reviewedBy));
    }

    /** Each step once: a retry finds the opt-out this text caused ({@code ours} again) and repeats only what is idempotent. */
    private void optOutByReview(InboundMessage m, Line line, long at) {
        String accountId = m.accountId();
        boolean ours = store.recordReviewed(accountId, line.id(), m.from(), m.id(), at);
        Log.info("opted_out_by_review", Map.of("lineId", line.id(), "inboundId", m.id(), "confirmed", ours));
        if (!ours) return; // opted out already: blocked, counted and confirmed then
        conversations.get().afterOptOut(accountId, line.id(), m.from(), at);
        var answered = answers.get().linkReviewedOptOut(m);
        if (line.optOutReply() != null && !line.optOutReply().isBlank()) {
            // through the relays queue, in order with the line's other answers to the number, staged with the
            // message (an API request: see DirectMessages#accept); before the event, which a topic refusing fails
            direct.accept(REPLY_ID_PREFIX + m.id(), accountId, line, MessageKind.KEYWORD_REPLY, List.of(m.from()),
                    line.optOutReply(), List.of(), DirectMessages.orderToNumber(line, m.from()));
        }
        publishChange(accountId, line.id(), m.from(), true, OptOutStore.SOURCE_REVIEW, m.id(), answered, null, at);
    }

    /** A manual opt-out: recorded at once, no reply sent. */
    public OptOutStore.Recorded optOut(String accountId, String lineId, String phoneInput, String country) {
        Line line = lines.find(accountId, lineId).orElseThrow(() -> ApiException.invalid("lineId: no such line in this account"));
        String phone = phone(phoneInput, country);
        // the line never texts itself: an opt-out of its own number would be listed for nothing
        if (phone.equals(line.phone())) throw ApiException.invalid("phone: " + OWN_NUMBER);
        return optOutNumber(accountId, line, phone);
    }

    private static final String OWN_NUMBER = "is the line's own number";

    /** Manual opt-outs made {@link #BULK_AT_ONCE} at a time (each its own transaction, event and conversation blocks). */
    static final int BULK_AT_ONCE = 16;

    /** @param invalid the entries that are no number to opt out, by their index in the request */
    public record BulkResult(long added, long alreadyOptedOut, List<GroupService.InvalidEntry> invalid) {}

    /**
     * Manual opt-outs of many numbers at once (a do-not-text list brought from another system), each as
     * {@link #optOut} makes one; an entry that is no number (or the line's own) is listed as invalid and the others are
     * still opted out; a number given twice counts once, the second time as already opted out. A failure part way
     * fails the request with what was recorded kept: its retry finds those opted out already.
     *
     * @param inputs each number as given, or malformed with the problem it is listed with
     * @param country a valid country or null (see {@link PhoneNumbers#countryProblem})
     */
    public BulkResult optOutAll(String accountId, String lineId, List<GroupService.MemberInput> inputs, String country) {
        Line line = lines.find(accountId, lineId).orElseThrow(() -> ApiException.invalid("lineId: no such line in this account"));
        List<GroupService.InvalidEntry> invalid = new ArrayList<>();
        Set<String> phones = new LinkedHashSet<>();
        long repeated = 0;
        for (int i = 0; i < inputs.size(); i++) {
            var entry = inputs.get(i);
            String input = entry.phone();
            if (entry.problem() != null) {
                invalid.add(new GroupService.InvalidEntry(i, input, entry.problem()));
                continue;
            }
            switch (PhoneNumbers.normalize(input, country)) {
                case PhoneNumbers.Valid valid when valid.e164().equals(line.phone()) ->
                        invalid.add(new GroupService.InvalidEntry(i, input, OWN_NUMBER));
                case PhoneNumbers.Valid valid -> {
                    if (!phones.add(valid.e164())) repeated++;
                }
                case PhoneNumbers.Invalid bad -> invalid.add(new GroupService.InvalidEntry(i,
                        input.length() <= PhoneNumbers.MAX_INPUT_LENGTH ? input : null, bad.reason()));
            }
        }
        long added = 0;
        long already = repeated;
        List<String> unique = List.copyOf(phones);
        for (int from = 0; from < unique.size(); from += BULK_AT_ONCE) {
            var outcomes = SideBySide.run(unique.subList(from, Math.min(unique.size(), from + BULK_AT_ONCE)), "/opt-out-",
                    phone -> optOutNumber(accountId, line, phone).created());
            for (var outcome : outcomes) {
                if (SideBySide.valueOrThrow(outcome)) added++;
                else already++;
            }
        }
        return new BulkResult(added, already, invalid);
    }

    /** Opts {@code phone} (E.164, not the line's own) out of {@code line} by hand: recorded at once, no reply sent. */
    private OptOutStore.Recorded optOutNumber(String accountId, Line line, String phone) {
        String lineId = line.id();
        long at = clock.millis();
        var told = manualChange(accountId, lineId, phone, true, at);
        var recorded = store.recordManual(accountId, lineId, phone, at, outbox.stage(told));
        if (recorded.created()) outbox.dispatchOrLeave(told);
        conversations.get().afterOptOut(accountId, lineId, phone, at);
        return recorded;
    }

    /**
     * How long a STOP whose worker has not handled it holds up its opt-out's removal by hand (see {@link #remove}):
     * seconds as a rule; one whose job never came (dead-lettered) holds nothing up for good.
     */
    static final long UNHANDLED_STOP_HOLDS_MILLIS = 15 * 60_000;

    /**
     * Lifts an opt-out by hand (its event as a manual opt-out's: see {@link #manualChange}); a 409 while the number's
     * STOP is not handled yet. Its worker sends the STOP's confirmation, and finding the opt-out lifted after the STOP,
     * would send none (right for a START of the number's own since, but not for a person who has just asked to be
     * unsubscribed and gets nothing, then more texts): once it is handled, the removal goes through.
     */
    public void remove(String accountId, String lineId, String phoneInput) {
        requireLine(accountId, lineId);
        // a path's number, as a member's or a participant's (encoded twice by its client too)
        String phone = PhoneNumbers.e164FromPath(phoneInput);
        long now = clock.millis();
        var told = manualChange(accountId, lineId, phone, false, now);
        String recentStops = InboundMessage.ID_PREFIX + Ids.lowestAt(now - UNHANDLED_STOP_HOLDS_MILLIS);
        // twice: a STOP that comes between the read and the removal is looked at as the first was
        for (int attempt = 0; attempt < 2; attempt++) {
            var standing = store.standing(lineId, phone).orElseThrow(() -> ApiException.notFound("opt-out"));
            String stop = standing.lastStopId();
            if (stop != null && stop.compareTo(recentStops) >= 0 && !inbound.handled(accountId, stop)) break;
            if (store.remove(lineId, phone, stop, outbox.stage(told))) {
                outbox.dispatchOrLeave(told);
                return;
            }
        }
        throw ApiException.conflict("the number has just texted STOP, whose confirmation is on its way: the opt-out "
                + "can be removed once that is recorded, in a few seconds");
    }

    /**
     * A START lifts the number's carrier refusals (source carrier_error) on the account's other lines in use too, those
     * recorded before it came. Twilio keeps opt-outs per Messaging Service: a STOP to one of its numbers blocks the
     * number on all of them (our next send from another refused, 21610: recorded there), and a START to any one lifts
     * them all. Lifted on its line only, the number got nothing from the others again, though the carrier no longer
     * blocked it. A line outside that service still blocks it: its next send is refused (not billed) and recorded
     * again. Not a toll-free line, whose network keeps its own block until START is texted to it; nor an opt-out the
     * number asked for there (a STOP), or made by hand or review. Each lift's event is staged with it (one
     * transaction), as a manual change's is, and told by the opt-out worker in that number's order on that line.
     */
    private void liftCarrierRefusalsOnOtherLines(String accountId, Line line, InboundMessage m) {
        List<String> others = allLines(accountId).stream()
                .filter(l -> !l.id().equals(line.id()) && !l.carrierAnswersOptOuts()).map(Line::id).toList();
        for (OptOut o : store.ofNumber(others, m.from())) {
            if (!OptOutStore.SOURCE_CARRIER_ERROR.equals(o.source()) || o.createdAt() >= m.createdAt()) continue;
            var told = change(accountId, o.lineId(), m.from(), false, m.createdAt(), OptOutStore.SOURCE_KEYWORD, m.id(),
                    "lift-" + o.lineId() + "-" + m.from().substring(1) + "-" + m.id());
            if (store.removeCarrierRefusal(o.lineId(), m.from(), m.createdAt(), outbox.stage(told))) {
                outbox.dispatchOrLeave(told);
                Log.info("carrier_opt_out_lifted_by_start_elsewhere", Map.of("lineId", o.lineId(), "inboundId", m.id()));
            }
        }
    }

    /**
     * The job kind of a change whose event the opt-out worker publishes ({@link #tellChange}): one made through the API,
     * or a START's lift on another line (its wire name from when only the first was).
     */
    public static final String KIND_CHANGE = "manual_change";

    /**
     * The event of a manual change, staged in the outbox with the change (one transaction) and published by the opt-out
     * worker: so it goes out once the change is made, whatever fails after (published in the request, a failed publish
     * was lost for good: the retry found the change made, and told nothing), and only then. In the number's message
     * group, after any STOP or START of it queued before.
     */
    private Outbox.Entry manualChange(String accountId, String lineId, String phone, boolean optedOut, long at) {
        // unique (two changes in one millisecond are two), within FIFO's 128 characters; the event's changeId
        return change(accountId, lineId, phone, optedOut, at, OptOutStore.SOURCE_MANUAL, null,
                "manual-" + lineId + "-" + phone.substring(1) + "-" + ids.next("") + (optedOut ? "-out" : "-in"));
    }

    /**
     * The outbox entry of a change's event ({@link #tellChange}): by hand, or a START's lift elsewhere (source
     * keyword, with its {@code inboundId}); {@code changeId} is the event's, and the job's deduplication id.
     */
    private Outbox.Entry change(String accountId, String lineId, String phone, boolean optedOut, long at, String source,
                                String inboundId, String changeId) {
        var body = numberJob(KIND_CHANGE, accountId, lineId, phone, at);
        body.put("optedOut", optedOut);
        body.put("changeId", changeId);
        if (!OptOutStore.SOURCE_MANUAL.equals(source)) body.put("source", source);
        if (inboundId != null) body.put("inboundId", inboundId);
        return outbox.entry(changeId, Queues.OPTOUTS, new QueueMessage(Json.write(body), lineId + "#" + phone, changeId));
    }

    /**
     * The opt-out worker's part of a change by hand, or of a START's lift on another line ({@code source} keyword,
     * {@code inboundId} the START's): its {@code opt_out.changed} (again on a retry), unless the number's opt-out is
     * not as the change left it by now: a STOP or START handled since (its job ran before this one, in the number's
     * order) changed it again and told that, or a later change will tell what it is. So the last event of a number
     * says what is on record.
     */
    public void tellChange(String accountId, String lineId, String phone, boolean optedOut, long at, String changeId,
                           String source, String inboundId) {
        if (store.get(lineId, phone).isPresent() != optedOut) {
            Log.info("change_superseded", Map.of("lineId", lineId, "optedOut", optedOut, "source", source));
            return;
        }
        publishChange(accountId, lineId, phone, optedOut, source, inboundId, null, changeId, at);
    }

    private void requireLine(String accountId, String lineId) {
        if (lines.find(accountId, lineId).isEmpty()) throw ApiException.notFound("line");
    }

    /** A line of the account, in use or deleted (whose opt-outs are read, never changed). */
    private Line requireKeptLine(String accountId, String lineId) {
        return lines.findKept(accountId, lineId).orElseThrow(() -> ApiException.notFound("line"));
    }

    private static String phone(String input, String country) {
        return PhoneNumbers.e164FromBody("phone", input, country);
    }
}
