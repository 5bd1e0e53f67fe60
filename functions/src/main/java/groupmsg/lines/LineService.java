package groupmsg.lines;

import groupmsg.platform.api.ApiException;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.dynamo.FilteredPage;
import groupmsg.platform.schema.Tables;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The business's sending numbers: create, list, get, change; and who a number belongs to (inbound routing, the
 * carrier rate). A number belongs to one line across all accounts.
 */
public final class LineService {
    private final LineStore store;
    private final Clock clock;

    public LineService(Wiring wiring) {
        this.store = new LineStore(new DynamoOps(wiring.dynamo()), wiring.config().table(Tables.CORE));
        this.clock = wiring.clock();
    }

    /**
     * A line to create, as asked for.
     *
     * @param phone   as typed: E.164, national with {@code country}, or a short code's digits
     * @param country ISO 3166-1 alpha-2 for a national number; null otherwise
     * @param mps     null -> {@link LineRules#DEFAULT_MPS}
     * @param optOutReply null -> {@link LineRules#DEFAULT_OPT_OUT_REPLY} (likewise the other replies)
     */
    public record NewLine(String phone, String country, LineType type, boolean groupMessaging, Double mps,
                          String optOutReply, String optInReply, String helpReply, String optOutNotice) {}

    /**
     * Changes to a line; null leaves a field as it is, an empty {@code optOutNotice} removes it. The number and the
     * type never change.
     */
    public record LineChanges(Boolean groupMessaging, Double mps, String optOutReply, String optInReply,
                              String helpReply, String optOutNotice) {
        public boolean empty() {
            return groupMessaging == null && mps == null && optOutReply == null && optInReply == null && helpReply == null
                    && optOutNotice == null;
        }
    }

    /**
     * Creates a line; 400 for a number unusable for its type or group messaging it cannot do, 409 for a taken number.
     * A run of a request after one that created (or brought back) the line under the same {@code ulid} answers that
     * line, rather than a 409 for its own number.
     */
    public Line create(String accountId, NewLine input, String ulid) {
        List<Map<String, Object>> problems = new ArrayList<>();
        String phone = switch (LineRules.phone(input.type(), input.phone(), input.country())) {
            case LineRules.Ok ok -> ok.phone();
            case LineRules.Bad bad -> {
                problems.add(problem("phone", bad.reason()));
                yield null;
            }
        };
        if (input.groupMessaging()) {
            LineRules.groupMessagingProblem(input.type(), phone).ifPresent(m -> problems.add(problem("groupMessaging", m)));
        }
        double mps = input.mps() == null ? LineRules.DEFAULT_MPS : input.mps();
        if (!LineRules.validMps(mps)) problems.add(mpsProblem());
        throwIfAny(problems);
        long now = clock.millis();
        // the account's own number again: the deleted line comes back, with its opt-outs (a STOP stays a STOP) and
        // history; a deletion of it committing after the look (the create's transaction then refuses) is looked for again
        for (int attempt = 1; ; attempt++) {
            List<LineStore.Kept> all = store.all(accountId);
            Optional<Line> earlier = createdBy(all, ulid);
            if (earlier.isPresent()) {
                // a rerun of one that brought the line back and died before ending its old waiting line ends it
                if (earlier.get().revivedAt() != null) store.forgetWaitingLine(earlier.get().id());
                return earlier.get();
            }
            Line deleted = all.stream().map(LineStore.Kept::line).filter(l -> l.deleted() && phone.equals(l.phone()))
                    .findFirst().orElse(null);
            Line line = new Line(deleted == null ? "line_" + ulid : deleted.id(), phone, input.type(), input.groupMessaging(), mps,
                    orDefault(input.optOutReply(), LineRules.DEFAULT_OPT_OUT_REPLY),
                    orDefault(input.optInReply(), LineRules.DEFAULT_OPT_IN_REPLY),
                    orDefault(input.helpReply(), LineRules.DEFAULT_HELP_REPLY), input.optOutNotice(),
                    deleted == null ? now : deleted.createdAt(), now, null,
                    // after its deletion whatever the clocks: a message of the earlier life never counts as this one's
                    deleted == null ? null : Math.max(clock.millis(), deleted.deletedAt() + 1));
            if (deleted != null) {
                store.revive(accountId, line, ulid);
                return line;
            }
            if (store.create(accountId, line, ulid)) return line;
            if (attempt == 3) throw new IllegalStateException("line " + phone + " deleted and created again meanwhile, 3 times");
        }
    }

    /** The account's line in use that a request created or brought back under {@code ulid}, if any. */
    public Optional<Line> createdBy(String accountId, String ulid) {
        return createdBy(store.all(accountId), ulid);
    }

    private static Optional<Line> createdBy(List<LineStore.Kept> all, String ulid) {
        return all.stream().filter(k -> ulid.equals(k.createdBy()) && !k.line().deleted()).map(LineStore.Kept::line).findFirst();
    }

    /**
     * The line's rate cursor (its spacing, {@code nextAt}, and its waiting line's end, {@code waitAt}): the
     * messages' rate limiter keeps it, under the line's id, which a line brought back keeps too.
     */
    public static java.util.Map<String, software.amazon.awssdk.services.dynamodb.model.AttributeValue> rateCursorKey(String lineId) {
        return groupmsg.platform.dynamo.Attr.key("RATE#" + lineId, "cursor");
    }

    /** The account's line; 404 for an unknown id or another account's. */
    public Line get(String accountId, String lineId) {
        return find(accountId, lineId).orElseThrow(() -> ApiException.notFound("line"));
    }

    /** The account's line in use: not one deleted. */
    public Optional<Line> find(String accountId, String lineId) {
        return findKept(accountId, lineId).filter(line -> !line.deleted());
    }

    /** The account's line, also a deleted one (kept, so its history and opt-outs can still be read). */
    public Optional<Line> findKept(String accountId, String lineId) {
        if (lineId == null || !lineId.startsWith("line_")) return Optional.empty();
        return store.get(accountId, lineId);
    }

    /** Lines of the account by id (unknown ids are left out), in no particular order. */
    public List<Line> findAll(String accountId, List<String> lineIds) {
        List<String> plausible = lineIds.stream().filter(id -> id != null && id.startsWith("line_")).toList();
        return plausible.isEmpty() ? List.of() : store.getAll(accountId, plausible);
    }

    public record LinePage(List<Line> lines, Map<String, AttributeValue> lastKey) {}

    /** The account's lines, oldest first (ids are ULIDs); deleted ones are not listed. */
    public LinePage list(String accountId, int limit, Map<String, AttributeValue> start) {
        return list(accountId, l -> !l.deleted(), limit, start);
    }

    /**
     * Deletes the line: no message goes from it any more, texts to its number are not taken, and the number is free
     * for a line of any account (a 409 while a message from it is still being sent; one accepted as the deletion
     * commits is failed unsent by the delivery worker). 404 for an unknown id, another
     * account's or one deleted already. Its opt-outs, conversations and history stay, keyed by its id: a line the
     * account creates for the same number again is this line brought back.
     */
    public void delete(String accountId, String lineId) {
        delete(accountId, lineId, false, null);
    }

    /**
     * ... by {@code caller}'s request: nothing is deleted when its key was revoked while it ran (a 403); and with
     * {@code force}, also while messages from it are being sent: what they have not sent yet is failed unsent ("not
     * sent: the line was deleted") instead of waiting. The way out for a line the carrier refuses for good (a number
     * the carrier account does not own: its messages wait, queued, for the line to be mended).
     */
    public void delete(groupmsg.platform.api.Caller caller, String lineId, boolean force) {
        delete(caller.accountId(), lineId, force, caller);
    }

    private void delete(String accountId, String lineId, boolean force, groupmsg.platform.api.Caller caller) {
        Line line = get(accountId, lineId);
        // its sends would go on from a number nobody here listens to: a STOP in answer would be lost (or go to
        // another account's line), so the line goes only once its messages are out
        if (!force && store.sendingFrom(accountId, lineId)) {
            throw ApiException.conflict("the line has messages still being sent; delete it once they are sent, or with"
                    + " ?force=true to fail what they have not sent yet");
        }
        if (!store.delete(accountId, line, clock.millis(), caller)) throw ApiException.notFound("line");
    }

    /**
     * Ends the line's waiting line (the places jobs hold for its sends): for when the jobs that held them are gone,
     * a restart's queues lost (see LineStore#forgetWaitingLine).
     */
    public void forgetWaitingLine(String lineId) {
        store.forgetWaitingLine(lineId);
    }

    /** A list's cursor must point at a line's key (another list's, of the same account partition, is a 400). */
    private static void requireLineCursor(Map<String, AttributeValue> start) {
        if (start != null && (start.get("sk") == null || !start.get("sk").s().startsWith(LineStore.LINE_PREFIX))) {
            throw ApiException.invalid("cursor is not valid for this list");
        }
    }

    /** Lines read per step of a filtered list, and the steps one page may take. */
    static final int FILTERED_STEP = 100;
    static final int FILTERED_STEPS = 10;

    /**
     * The account's lines that {@code keep} accepts (e.g. only those that can do group messaging; deleted ones are
     * {@code keep}'s to pass over), oldest first: read 100 at a time until the page is full and one more is found,
     * or 1,000 were read (then the cursor goes on).
     */
    public LinePage list(String accountId, java.util.function.Predicate<Line> keep, int limit, Map<String, AttributeValue> start) {
        requireLineCursor(start);
        var page = FilteredPage.fill(limit, FILTERED_STEPS, start, from -> {
            var step = store.list(accountId, FILTERED_STEP, from);
            return new FilteredPage.Step<>(step.lines().stream().filter(keep).toList(), step.lastKey());
        }, l -> LineStore.lineKey(accountId, l.id()));
        return new LinePage(page.items(), page.lastKey());
    }

    public Line update(String accountId, String lineId, LineChanges changes) {
        if (changes.empty()) {
            throw ApiException.invalid("nothing to change: give groupMessaging, mps, optOutReply, optInReply, helpReply"
                    + " and/or optOutNotice");
        }
        Line current = get(accountId, lineId);
        List<Map<String, Object>> problems = new ArrayList<>();
        if (Boolean.TRUE.equals(changes.groupMessaging())) {
            LineRules.groupMessagingProblem(current.type(), current.phone())
                    .ifPresent(m -> problems.add(problem("groupMessaging", m)));
        }
        if (changes.mps() != null && !LineRules.validMps(changes.mps())) problems.add(mpsProblem());
        throwIfAny(problems);
        if (!store.update(accountId, current, changes.groupMessaging(), changes.mps(), changes.optOutReply(),
                changes.optInReply(), changes.helpReply(), changes.optOutNotice(), clock.millis())) {
            throw ApiException.notFound("line");
        }
        return get(accountId, lineId);
    }

    /**
     * Whose a number is: E.164 for long codes and toll-free numbers, the digits for short codes (as the carrier
     * names them in {@code To}). Read consistently, so a line is routable as soon as it is created.
     */
    public Optional<LineOwner> ownerOfPhone(String phone) {
        if (phone == null || phone.isBlank()) return Optional.empty();
        return store.owner(phone.strip());
    }

    /**
     * The line a number had last, deleted since, while no line has the number: where a STOP or START texted to it is
     * still recorded (see {@code LineStore#formerKey}).
     */
    public Optional<LineOwner> formerOwnerOfPhone(String phone) {
        if (phone == null || phone.isBlank()) return Optional.empty();
        return store.formerOwner(phone.strip());
    }

    /** Whether {@code phone} is one of the account's lines (its texts are the business's own). */
    public boolean isLineOf(String accountId, String phone) {
        return ownerOfPhone(phone).filter(o -> o.accountId().equals(accountId)).isPresent();
    }

    /** The partition a cursor of {@link #list} must point into. */
    public static String accountPartition(String accountId) {
        return Attr.accountPk(accountId);
    }

    private static String orDefault(String value, String fallback) {
        return value == null || value.isBlank() ? fallback : value;
    }

    private static Map<String, Object> problem(String field, String message) {
        var d = new LinkedHashMap<String, Object>();
        d.put("field", field);
        d.put("message", message);
        return d;
    }

    /** What is wrong with an mps out of range or too finely given. */
    public static final String MPS_PROBLEM = "must be a number of messages per second from " + LineRules.MIN_MPS
            + " to " + LineRules.MAX_MPS + " with at most " + LineRules.MAX_MPS_DECIMALS
            + " decimals (a grant per minute divided by 60: 75 a minute is 1.25)";

    private static Map<String, Object> mpsProblem() {
        return problem("mps", MPS_PROBLEM);
    }

    private static void throwIfAny(List<Map<String, Object>> problems) {
        if (problems.isEmpty()) return;
        Map<String, Object> first = problems.get(0);
        String message = first.get("field") + " " + first.get("message")
                + (problems.size() > 1 ? " (and " + (problems.size() - 1) + " more problems)" : "");
        throw ApiException.invalid(message, List.copyOf(problems));
    }
}
