package groupmsg.lines;

import groupmsg.groups.GroupLookup;
import groupmsg.inbound.Keywords;
import groupmsg.platform.api.ApiException;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.schema.Tables;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A line's own keywords ({@code /v1/lines/{id}/keywords}, an extension of API.md): what the business sets up, and
 * which one a text is.
 */
public final class LineKeywordService {
    private final LineKeywordStore store;
    private final LineService lines;
    private final GroupLookup groups;
    private final Clock clock;

    public LineKeywordService(Wiring wiring) {
        this.store = new LineKeywordStore(new DynamoOps(wiring.dynamo()), wiring.config().table(Tables.CORE));
        this.lines = new LineService(wiring);
        this.groups = new GroupLookup(wiring);
        this.clock = wiring.clock();
    }

    /**
     * What a keyword is to do; null fields of a change are left as they are.
     *
     * @param reply its own answer; for a change, {@link #DEFAULT_REPLY} puts back the default
     */
    public record KeywordInput(LineKeyword.Action action, String groupId, String reply) {}

    /** A change's {@code reply} that puts the default answer back (JSON {@code "reply": null}). */
    public static final String DEFAULT_REPLY = "";

    /**
     * Gives the line a keyword of its own; 404 for an unknown line, 400 for a keyword that cannot be one or a group
     * the account does not have, 409 when the line has the keyword already.
     *
     * @param creation the creating request's id ({@code ApiRequest.creationUlid}): a rerun of a create that stored its
     *                 keyword (its answer lost) answers that keyword, as it is now, not a 409
     */
    public LineKeyword create(String accountId, String lineId, String typed, KeywordInput input, String creation) {
        Line line = lines.get(accountId, lineId);
        List<LineKeywordStore.Kept> existing = store.list(accountId, line.id());
        // first: the rerun's answer is what it stored, whatever became of its group since
        var earlier = createdBy(existing, creation);
        if (earlier.isPresent()) {
            // a run before this one put it and may have stopped before its check
            if (existing.size() > LineKeyword.MAX_PER_LINE) giveUpPlace(accountId, line, earlier.get(), creation);
            return earlier.get();
        }
        String problem = Keywords.lineKeywordProblem(typed); // the API checked it too; here for every caller
        if (problem != null) {
            throw ApiException.invalid("keyword " + problem, List.of(Map.of("field", "keyword", "message", problem)));
        }
        String keyword = Keywords.lineKeyword(typed);
        requireGroup(accountId, input.groupId());
        requireReplyFits(input.action(), input.reply());
        if (existing.stream().anyMatch(k -> k.keyword().keyword().equals(keyword))) throw hasIt(line, keyword);
        if (existing.size() >= LineKeyword.MAX_PER_LINE) throw full();
        long now = clock.millis();
        var created = new LineKeyword(line.id(), keyword, input.action(), input.groupId(), input.reply(), now, now);
        if (!store.create(accountId, created, creation)) {
            // another create's, or this one's own: the SDK's retry of a put whose answer was lost fails on what it wrote
            var own = store.getKept(accountId, line.id(), keyword).filter(k -> creation.equals(k.createdBy()))
                    .map(LineKeywordStore.Kept::keyword).orElseThrow(() -> hasIt(line, keyword));
            keepWithinTheMost(accountId, line, own, creation);
            return own;
        }
        keepWithinTheMost(accountId, line, created, creation);
        return created;
    }

    /**
     * Creates at once on a line near the most may each have counted it under and all put theirs: read again after the
     * put (one Query), a line past the most has this create's keyword taken out again, and a 409 that says so. A create
     * that read before another's put saw no more than the most and keeps its own; two that both read after both puts
     * both give theirs up (each retry then finds the one place). A rerun (an Idempotency-Key's, the SDK's retry of the
     * put) checks again; only a create cut off between its put and its check, and not retried under its key, can
     * leave the line past the most.
     */
    private void keepWithinTheMost(String accountId, Line line, LineKeyword created, String creation) {
        if (store.list(accountId, line.id()).size() > LineKeyword.MAX_PER_LINE) {
            giveUpPlace(accountId, line, created, creation);
        }
    }

    /** Takes this create's keyword out again: the line is past the most, and a create at the same moment kept its. */
    private void giveUpPlace(String accountId, Line line, LineKeyword created, String creation) {
        store.deleteCreatedBy(accountId, line.id(), created.keyword(), creation);
        throw ApiException.conflict("another keyword was created on the line at the same moment and it has "
                + LineKeyword.MAX_PER_LINE + " keywords of its own now, the most it may; retry, or delete one first");
    }

    private static ApiException full() {
        return ApiException.conflict("the line has " + LineKeyword.MAX_PER_LINE + " keywords of its own, the most it may"
                + " (delete one first)");
    }

    /** The line's keyword the request {@code creation} created (see {@link #create}), if it is still there. */
    public Optional<LineKeyword> createdBy(String accountId, String lineId, String creation) {
        Line line = lines.get(accountId, lineId);
        return createdBy(store.list(accountId, line.id()), creation);
    }

    private static Optional<LineKeyword> createdBy(List<LineKeywordStore.Kept> keywords, String creation) {
        return keywords.stream().filter(k -> creation.equals(k.createdBy())).map(LineKeywordStore.Kept::keyword).findFirst();
    }

    private static ApiException hasIt(Line line, String keyword) {
        return ApiException.conflict("the line has the keyword " + keyword + " already (PATCH /v1/lines/" + line.id()
                + "/keywords/{keyword} changes it)");
    }

    public record KeywordPage(List<LineKeyword> keywords, Map<String, AttributeValue> lastKey) {}

    /** A page of the line's keywords; 404 for an unknown line, 400 for a cursor of another list. */
    public KeywordPage list(String accountId, String lineId, int limit, Map<String, AttributeValue> start) {
        Line line = lines.get(accountId, lineId);
        if (start != null && !start.get("sk").s().startsWith(LineKeywordStore.prefix(line.id()))) {
            throw ApiException.invalid("cursor is not valid for this list");
        }
        var page = store.list(accountId, line.id(), limit, start);
        return new KeywordPage(page.keywords(), page.lastKey());
    }

    /** The partition a cursor of {@link #list} must point into. */
    public static String listPartition(String accountId) {
        return LineService.accountPartition(accountId);
    }

    /** The line's keyword as typed in a path ("join", "Join%20Youth"); 404 for none such, or an unknown line. */
    public LineKeyword get(String accountId, String lineId, String typed) {
        Line line = lines.get(accountId, lineId);
        return store.get(accountId, line.id(), fromPath(typed)).orElseThrow(() -> ApiException.notFound("keyword"));
    }

    /** The line's keyword {@code keyword} (as stored: {@link Keywords#lineKeyword}'s), the line not looked at. */
    public Optional<LineKeyword> find(String accountId, String lineId, String keyword) {
        return store.get(accountId, lineId, keyword);
    }

    /**
     * Of the groups {@code keywords} name, those deleted since (their texts then do nothing: shown on the keyword, so
     * the business sees it before its sign-ups go unanswered).
     */
    public java.util.Set<String> groupsGone(String accountId, List<LineKeyword> keywords) {
        if (keywords.isEmpty()) return java.util.Set.of();
        return groups.gone(accountId, keywords.stream().map(LineKeyword::groupId).toList());
    }

    /** The account's group a keyword names (empty: deleted since, or never the account's). */
    public Optional<groupmsg.groups.Group> group(String accountId, String groupId) {
        return groups.find(accountId, groupId);
    }

    /** Changes what the keyword does (see {@link KeywordInput}); 404 as {@link #get}. */
    public LineKeyword update(String accountId, String lineId, String typed, KeywordInput changes) {
        LineKeyword current = get(accountId, lineId, typed);
        if (changes.groupId() != null) requireGroup(accountId, changes.groupId());
        var action = changes.action() != null ? changes.action() : current.action();
        String reply = changes.reply() == null ? current.reply() : changes.reply().equals(DEFAULT_REPLY) ? null : changes.reply();
        requireReplyFits(action, reply);
        var changed = new LineKeyword(current.lineId(), current.keyword(), action,
                changes.groupId() != null ? changes.groupId() : current.groupId(), reply, current.createdAt(),
                Math.max(clock.millis(), current.updatedAt() + 1));
        if (!store.update(accountId, changed, current.updatedAt())) {
            // changed (or deleted) since it was read: this change was checked against what it no longer is
            throw ApiException.conflict("the keyword was changed or deleted meanwhile; read it again and send the change again");
        }
        return changed;
    }

    public void delete(String accountId, String lineId, String typed) {
        Line line = lines.get(accountId, lineId);
        if (!store.delete(accountId, line.id(), fromPath(typed))) throw ApiException.notFound("keyword");
    }

    /**
     * A keyword as a path names it: "+" is a space there (form encoding, "JOIN+YOUTH"), as no keyword holds one; the
     * gateway has decoded "%20" already.
     */
    private static String fromPath(String typed) {
        String keyword = Keywords.lineKeyword(typed.replace('+', ' '));
        // none is longer (and a path's 200 characters may read as 3,600: "ﷺ" is 18, past DynamoDB's largest key)
        if (keyword.codePointCount(0, keyword.length()) > Keywords.MAX_LINE_KEYWORD_LENGTH) {
            throw ApiException.notFound("keyword");
        }
        return keyword;
    }

    /** The line's keyword that {@code body}, a text to it, is; empty for an ordinary text (one read at most). */
    public Optional<LineKeyword> match(String accountId, String lineId, String body) {
        String candidate = Keywords.asLineKeyword(body);
        return candidate == null ? Optional.empty() : store.get(accountId, lineId, candidate);
    }

    private void requireGroup(String accountId, String groupId) {
        if (groups.find(accountId, groupId).isEmpty()) {
            throw ApiException.invalid("groupId: no such group in this account",
                    List.of(Map.of("field", "groupId", "message", "no such group in this account")));
        }
    }

    /** A join's own answer must say how to stop the messages: an opt-in's confirmation must, carriers say. */
    private static void requireReplyFits(LineKeyword.Action action, String reply) {
        if (action == LineKeyword.Action.JOIN && reply != null && !Keywords.namesAnOptOutKeyword(reply)) {
            String message = "must say how to opt out, as carriers want a subscription's confirmation to: name STOP (or"
                    + " another opt-out keyword) in capitals, e.g. \"" + LineKeyword.defaultReply(action, "Volunteers") + "\"";
            throw ApiException.invalid("reply " + message, List.of(Map.of("field", "reply", "message", message)));
        }
    }
}
