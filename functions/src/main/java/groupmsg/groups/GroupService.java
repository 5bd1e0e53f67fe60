package groupmsg.groups;

import groupmsg.lines.LineService;
import groupmsg.optout.OptOutStore;
import groupmsg.platform.Log;
import groupmsg.platform.api.ApiException;
import groupmsg.platform.api.CsvPart;
import groupmsg.platform.api.Text;
import groupmsg.platform.config.Ids;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.dynamo.Attr;
import groupmsg.platform.dynamo.DynamoOps;
import groupmsg.platform.dynamo.FilteredPage;
import groupmsg.platform.json.Json;
import groupmsg.platform.queue.QueueMessage;
import groupmsg.platform.queue.QueueSender;
import groupmsg.platform.queue.SqsQueueSender;
import groupmsg.platform.schema.Queues;
import groupmsg.platform.schema.Tables;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;

import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Groups and their members: create, rename, delete; add, list/search and remove members. */
public final class GroupService {
    public static final int MAX_MEMBERS_PER_REQUEST = 1000;
    /**
     * How long one list or search request reads member rows (1,000 a page) looking for its page's members before it
     * hands back what it found with a cursor to continue: a search for a name late in a group of 100,000 (about
     * 100 pages), or a list after a run of removed members (tombstones stay 30 days), answers in one request rather
     * than with empty pages and a cursor, which clients take for "no results". Well inside the groups API's time (29 s);
     * a caller with less reads within its own ({@link #membersUpTo}).
     */
    static final long READ_BUDGET_MILLIS = 5_000;

    private final GroupStore groups;
    private final MemberStore members;
    private final OptOutStore optOuts;
    private final LineService lines;
    private final QueueSender queue;
    private final Clock clock;
    private final Ids ids;

    public GroupService(Wiring wiring) {
        this(wiring, new SqsQueueSender(wiring.sqsClient(), wiring.config()));
    }

    public GroupService(Wiring wiring, QueueSender queue) {
        DynamoOps ops = new DynamoOps(wiring.dynamo());
        this.groups = new GroupStore(ops, wiring.config().table(Tables.CORE));
        this.members = new MemberStore(ops, wiring.config().table(Tables.MEMBERS), groups, wiring.clock());
        this.optOuts = new OptOutStore(ops, wiring.config().table(Tables.CORE));
        this.lines = new LineService(wiring);
        this.queue = queue;
        this.clock = wiring.clock();
        this.ids = wiring.ids();
    }

    public Group create(String accountId, String name, String description) {
        return create(accountId, name, description, ids.next(""));
    }

    /**
     * @param ulid the id's time-ordered part: the same on every run of one request under an Idempotency-Key, so a
     *             run after one that created the group answers it rather than a 409 for its own name
     */
    public Group create(String accountId, String name, String description, String ulid) {
        long now = clock.millis();
        return groups.create(accountId, new Group("grp_" + ulid, name, description, 0, now, now, 0, 0, 0));
    }

    /**
     * The transaction action that accepts a group message for the group as {@code seen} at {@code acceptedAt}
     * (> {@code seen.lastSendAt()}): its condition fails if the membership changed since it was read.
     */
    public TransactWriteItem acceptFence(String accountId, Group seen, long acceptedAt) {
        return groups.acceptFence(accountId, seen, acceptedAt);
    }

    /** Whether the account has this group. */
    public boolean exists(String accountId, String groupId) {
        return groups.get(accountId, groupId).isPresent();
    }

    /**
     * Whether the account has this group, or had it and deleted it within 30 days (a retried request's check for what
     * its first run stored: one whose group was deleted since keeps that id, and its retry is a 409).
     */
    public boolean existsOrDeleted(String accountId, String groupId) {
        return exists(accountId, groupId) || groups.deleted(accountId, groupId);
    }

    public Group get(String accountId, String groupId) {
        if (!groupId.startsWith("grp_")) throw ApiException.notFound("group");
        return groups.get(accountId, groupId).orElseThrow(() -> ApiException.notFound("group"));
    }

    public record GroupPage(List<Group> groups, Map<String, AttributeValue> lastKey) {}

    public GroupPage list(String accountId, int limit, Map<String, AttributeValue> start) {
        var page = groups.list(accountId, limit, start);
        return new GroupPage(page.groups(), page.lastKey());
    }

    /** Groups read per step of a filtered list ({@link #listMatching}), and the steps one page may take. */
    static final int MATCHING_STEP = 100;
    static final int MATCHING_STEPS = 20;

    /**
     * The groups that match, in the list's order: those {@code phone} is a member of now (when given) and whose name
     * contains {@code search} ignoring case and accents (when given). The account's groups are read 100 at a time
     * (a number's membership in each step's groups in one BatchGetItem) until the page is full and one more is found
     * (so a cursor is given only when another follows), or 2,000 groups were read (then the cursor goes on from
     * there, and the page may hold fewer than {@code limit}).
     */
    public GroupPage listMatching(String accountId, String phone, String search, int limit, Map<String, AttributeValue> start) {
        String needle = search == null ? null : Text.searchForm(search);
        var page = FilteredPage.fill(limit, MATCHING_STEPS, start, from -> {
            var step = groups.list(accountId, MATCHING_STEP, from);
            List<Group> named = needle == null ? step.groups()
                    : step.groups().stream().filter(g -> Text.searchMatches(g.name(), needle)).toList();
            if (phone == null || named.isEmpty()) return new FilteredPage.Step<>(named, step.lastKey());
            var with = members.groupsWith(accountId, named.stream().map(Group::id).toList(), phone);
            return new FilteredPage.Step<>(named.stream().filter(g -> with.contains(g.id())).toList(), step.lastKey());
        }, g -> GroupStore.groupKey(accountId, g.id()));
        return new GroupPage(page.items(), page.lastKey());
    }

    /**
     * @param description empty string clears it; null leaves it. A rename committed meanwhile makes it read the
     *                    group again and apply the request to that (a few times, then a 409 asking to retry).
     */
    public Group update(String accountId, String groupId, String name, String description) {
        for (int attempt = 0; attempt < 5; attempt++) {
            Group current = get(accountId, groupId);
            String newName = name == null ? current.name() : name;
            long now = clock.millis();
            // a description not given is left as it is then, not written back as read: a rename could undo a
            // description change another request committed between the read and the write
            if (groups.update(accountId, current, newName, description, now)) {
                // what this request wrote, on the group's counts read again (the rename and description of another
                // request landed since are not this one's answer; a group deleted since answers as it was left)
                Group read = groups.get(accountId, groupId).orElse(current);
                String newDescription = description == null ? read.description() : description;
                return new Group(read.id(), newName, newDescription == null || newDescription.isEmpty() ? null : newDescription,
                        read.memberCount(), read.createdAt(), now, read.lastSendAt(), read.memberVersion(), read.stampedTo());
            }
        }
        throw ApiException.conflict("the group changed while it was being updated; retry");
    }

    /** Deletes the group now; its member rows are tombstoned by the import worker (asynchronously). */
    public void delete(String accountId, String groupId) {
        Group group = get(accountId, groupId);
        long deletedAt = groups.delete(accountId, group, clock).orElseThrow(() -> ApiException.notFound("group"));
        try {
            enqueueCleanup(accountId, groupId, deletedAt, null);
        } catch (RuntimeException e) {
            // The group is deleted (its clean-up job row was committed with it, and maintenance re-drives it): the
            // request succeeded, and a 500 would have the client retry into a 404.
            Log.error("group_cleanup_enqueue_deferred", Map.of("groupId", groupId), e);
        }
    }

    /** Sends a group's clean-up job: from its first member row, or after {@code afterPhone} (a hand-on). */
    void enqueueCleanup(String accountId, String groupId, long deletedAt, String afterPhone) {
        var body = new LinkedHashMap<String, Object>();
        body.put("kind", ImportWorkerHandler.KIND_GROUP_CLEANUP);
        body.put("accountId", accountId);
        body.put("groupId", groupId);
        body.put("deletedAt", deletedAt);
        if (afterPhone != null) body.put("after", afterPhone);
        queue.send(Queues.IMPORTS, List.of(new QueueMessage(Json.write(body), accountId + "#" + groupId,
                "cleanup-" + groupId + "-" + deletedAt + (afterPhone == null ? "" : "-" + afterPhone))));
    }

    /** One entry of an add request; {@code problem} says why the entry itself is malformed (null when it is not). */
    public record MemberInput(String phone, String country, String name, String problem) {
        public MemberInput(String phone, String country, String name) {
            this(phone, country, name, null);
        }

        public static MemberInput malformed(String phone, String problem) {
            return new MemberInput(phone, null, null, problem);
        }
    }

    public record InvalidEntry(int index, String phone, String reason) {}

    /** @param updated how many of {@code alreadyMembers} had their name changed to the one given */
    public record AddResult(long added, long alreadyMembers, long updated, List<InvalidEntry> invalid) {}

    /**
     * Adds the valid entries (invalid ones are reported, not fatal); duplicates in one request count once. A member
     * already present that is given another name (not none) takes it.
     */
    public AddResult addMembers(String accountId, String groupId, List<MemberInput> inputs) {
        get(accountId, groupId);
        List<InvalidEntry> invalid = new ArrayList<>();
        List<String> numbers = numbers(inputs, invalid, PhoneNumbers::normalize);
        Map<String, MemberStore.Candidate> unique = new LinkedHashMap<>();
        long duplicates = 0;
        for (int i = 0; i < inputs.size(); i++) {
            String e164 = numbers.get(i);
            if (e164 == null) continue;
            MemberInput in = inputs.get(i);
            if (unique.containsKey(e164)) duplicates++;
            // a later entry's name wins, as it would in a later request (MemberStore renames); no name
            // (absent or empty) takes nothing from an earlier entry's
            if (!unique.containsKey(e164) || (in.name() != null && !in.name().isEmpty())) {
                unique.put(e164, new MemberStore.Candidate(e164, in.name()));
            }
        }
        long added = 0;
        long already = duplicates;
        long updated = 0;
        List<MemberStore.Candidate> candidates = new ArrayList<>(unique.values());
        long now = clock.millis();
        long giveUpAt = now + CHANGE_MILLIS;
        try {
            for (int from = 0; from < candidates.size(); from += MemberStore.MAX_PUTS_PER_TRANSACTION) {
                var unit = candidates.subList(from, Math.min(candidates.size(), from + MemberStore.MAX_PUTS_PER_TRANSACTION));
                var result = members.addUnit(accountId, groupId, unit, null, now, giveUpAt);
                now = result.stampedAt();
                added += result.added();
                already += result.alreadyMembers();
                updated += result.updated();
            }
        } catch (MemberStore.GroupGoneException e) {
            throw ApiException.notFound("group");
        } catch (MemberStore.ContentionException e) {
            List<String> done = new ArrayList<>();
            if (added > 0) done.add(added + " of the numbers were added");
            if (updated > 0) done.add(updated + " renamed");
            throw busy(e, done.isEmpty() ? null : String.join(" and ", done) + " before it (a retry counts them in alreadyMembers)");
        }
        return new AddResult(added, already, updated, invalid);
    }

    /**
     * Each entry's number in E.164 as {@code reading} reads it, in order, or null for an invalid entry, which is added
     * to {@code invalid}.
     */
    private static List<String> numbers(List<MemberInput> inputs, List<InvalidEntry> invalid,
                                        java.util.function.BiFunction<String, String, PhoneNumbers.Result> reading) {
        List<String> numbers = new ArrayList<>(inputs.size());
        for (int i = 0; i < inputs.size(); i++) {
            MemberInput in = inputs.get(i);
            String e164 = null;
            if (in.problem() != null) {
                invalid.add(new InvalidEntry(i, in.phone(), in.problem()));
            } else {
                switch (reading.apply(in.phone(), in.country())) {
                    case PhoneNumbers.Invalid bad -> invalid.add(new InvalidEntry(i, in.phone(), bad.reason()));
                    case PhoneNumbers.Valid ok -> e164 = ok.e164();
                }
            }
            numbers.add(e164);
        }
        return numbers;
    }

    public record MemberPage(List<Member> members, Map<String, AttributeValue> lastKey) {}

    /** One part of a group's export: CSV text, and where the next part starts (null: none). */
    public record MemberExport(String csv, Map<String, AttributeValue> lastKey) {}

    /** The most members one part of an export holds. */
    public static final int EXPORT_MAX_MEMBERS = 50_000;
    /**
     * How long one part of an export reads member rows: then it is answered with what it holds and a cursor (at a
     * removed member's row, maybe), inside the groups API's 29 s with time to send it. Tombstones stay 30 days, and a
     * group that lost most of its members reads many rows per member: a part read on until it was full went past the
     * function's time, and its retry read the same rows again (it could never be exported).
     */
    static final long EXPORT_READ_MILLIS = 15_000;

    /**
     * The group's present members as CSV ({@link MembersCsv}), in number order, from {@code start}: read until the
     * part holds {@code limit} members (at most {@value #EXPORT_MAX_MEMBERS}), or its next row would take it over
     * {@code maxBytes} as the answer carries it, or it has read for {@link #EXPORT_READ_MILLIS}; the next part starts
     * after its last member (or the last row read). 404 for no such group.
     */
    public MemberExport exportMembers(String accountId, String groupId, int limit, long maxBytes, Map<String, AttributeValue> start) {
        get(accountId, groupId);
        long until = clock.millis() + EXPORT_READ_MILLIS;
        var part = new CsvPart(MembersCsv.HEADER, maxBytes);
        Map<String, AttributeValue> from = start;
        Member last = null;
        while (true) {
            // one read for the rest of the part (a page of its size, then 1,000 rows at a time, while time is left);
            // before, steps of 1,000 members each began with a query of 2,000 rows and kept half
            var page = members.list(accountId, groupId, null, null, null, limit - part.rows(), from,
                    Math.max(0, until - clock.millis()));
            for (Member m : page.members()) {
                if (!part.add(MembersCsv.row(m))) {
                    return new MemberExport(part.text(), Attr.key(membersPartition(accountId, groupId), last.phone()));
                }
                last = m;
            }
            from = page.lastKey();
            if (from == null || part.rows() >= limit || clock.millis() >= until) return new MemberExport(part.text(), from);
        }
    }

    /**
     * Present members; {@code search} matches a case-insensitive substring of the name, or a substring of the
     * phone's digits when it contains digits.
     */
    public MemberPage listMembers(String accountId, String groupId, Optional<String> search, Boolean undeliverable,
                                  int limit, Map<String, AttributeValue> start) {
        get(accountId, groupId);
        String nameNeedle = null;
        String digitNeedle = null;
        if (search.isPresent()) {
            String q = search.get().strip();
            if (q.length() > 100) throw ApiException.invalid("search must be at most 100 characters");
            if (!q.isEmpty()) {
                nameNeedle = q.toLowerCase(java.util.Locale.ROOT);
                digitNeedle = PhoneNumbers.searchDigits(q);
            }
        }
        var page = members.list(accountId, groupId, nameNeedle, digitNeedle, undeliverable, limit, start, READ_BUDGET_MILLIS);
        return new MemberPage(page.members(), page.lastKey());
    }

    /**
     * The present members of {@code group} (read before, so the account's), up to {@code enough} of them, reading
     * page after page (past a long run of removed members) within {@code budgetMillis} in all, and no further once as
     * many as its count were found: the rest of the rows can only be removed ones, unless the members changed since
     * the group was read, which a read of it after theirs tells (its {@code memberVersion} moves with every change).
     * A 409 asking to retry when they changed meanwhile, or the time runs out first (many members removed lately); a
     * 404 for a group deleted meanwhile.
     */
    public List<Member> membersUpTo(String accountId, Group group, int enough, long budgetMillis) {
        long wanted = Math.min(enough, group.memberCount());
        List<Member> found = new ArrayList<>();
        Map<String, AttributeValue> cursor = null;
        long readUntil = clock.millis() + budgetMillis;
        while (found.size() < wanted) {
            long left = readUntil - clock.millis();
            if (left <= 0) {
                throw ApiException.conflict("the group's members could not be read in time (many were removed lately);"
                        + " retry, or give the numbers");
            }
            var page = members.list(accountId, group.id(), null, null, null, (int) (wanted - found.size()), cursor, left);
            found.addAll(page.members());
            cursor = page.lastKey();
            if (cursor == null) break;
        }
        // as many as its count, read in phone order: one added meanwhile would have pushed a member out, a set the
        // group never had (reading one more instead read through every removed row after the last member)
        long version = groups.get(accountId, group.id()).map(Group::memberVersion)
                .orElseThrow(() -> ApiException.notFound("group"));
        if (version != group.memberVersion()) {
            throw ApiException.conflict("the group's members changed while they were read; retry");
        }
        return found;
    }

    /**
     * Which of {@code phones} have opted out of the account's line {@code lineId} (so a group message from it would
     * skip them): 400 when the account has no such line.
     */
    public Set<String> optedOutOf(String accountId, String lineId, List<String> phones) {
        if (lines.find(accountId, lineId).isEmpty()) throw ApiException.invalid("lineId: no such line in this account");
        return optOuts.optedOut(lineId, phones);
    }

    /** A member of the group now, by number: 404 when the group or the membership does not exist. */
    public Member member(String accountId, String groupId, String rawPhone) {
        get(accountId, groupId);
        String phone = pathPhone(rawPhone);
        return members.present(accountId, groupId, phone)
                .orElseThrow(() -> ApiException.notFound("member " + phone + " of this group"));
    }

    /**
     * Clears the member's undeliverable mark, so the group's next messages are sent to the number again (it was
     * ported to a mobile, say): 404 when the group or the membership does not exist. Idempotent.
     */
    public void clearUndeliverable(String accountId, String groupId, String rawPhone) {
        get(accountId, groupId);
        String phone = pathPhone(rawPhone);
        if (!members.clearUndeliverable(accountId, groupId, phone, clock.millis())) {
            throw ApiException.notFound("member " + phone + " of this group");
        }
    }

    /**
     * Gives a member another name, or none ({@code name} null): 404 when the group or the membership does not exist.
     * The same name again changes nothing but is answered the same.
     */
    public Member renameMember(String accountId, String groupId, String rawPhone, String name) {
        get(accountId, groupId);
        String phone = pathPhone(rawPhone);
        return members.rename(accountId, groupId, phone, name)
                .orElseThrow(() -> ApiException.notFound("member " + phone + " of this group"));
    }

    public record RemoveResult(long removed, long notMembers, List<InvalidEntry> invalid) {}

    /**
     * Removes the valid entries' numbers that are members (invalid entries are reported, numbers that are not members
     * counted: a retried request removes nothing more and says so); duplicates in one request count once. Each unit
     * of up to 98 numbers is one transaction with the group's counter, stamped like a single removal, so a message
     * accepted meanwhile has all of a unit's numbers among its recipients or none.
     */
    public RemoveResult removeMembers(String accountId, String groupId, List<MemberInput> inputs) {
        get(accountId, groupId);
        List<InvalidEntry> invalid = new ArrayList<>();
        java.util.LinkedHashSet<String> unique = new java.util.LinkedHashSet<>();
        long duplicates = 0;
        for (String e164 : numbers(inputs, invalid, PhoneNumbers::normalizeExisting)) {
            if (e164 != null && !unique.add(e164)) duplicates++;
        }
        List<String> phones = new ArrayList<>(unique);
        long removed = 0;
        long notMembers = duplicates;
        long now = clock.millis();
        long giveUpAt = now + CHANGE_MILLIS;
        try {
            for (int from = 0; from < phones.size(); from += MemberStore.MAX_PUTS_PER_TRANSACTION) {
                var result = members.removeUnit(accountId, groupId,
                        phones.subList(from, Math.min(phones.size(), from + MemberStore.MAX_PUTS_PER_TRANSACTION)), null,
                        now, giveUpAt);
                now = result.stampedAt();
                removed += result.removed();
                notMembers += result.notMembers();
            }
        } catch (MemberStore.GroupGoneException e) {
            throw ApiException.notFound("group");
        } catch (MemberStore.ContentionException e) {
            throw busy(e, removed == 0 ? null : removed + " of the numbers were removed before it (a retry counts them in notMembers)");
        }
        return new RemoveResult(removed, notMembers, invalid);
    }

    /**
     * Adds one number to the group ({@code join}) or removes it, in one transaction with {@code once}: another item's
     * conditional write that records the change as made (a keyword text's), so it is made once however often its
     * caller runs. False when {@code once}'s condition failed: made before, nothing written now. A number that is a
     * member already (joining) or is none (leaving) changes nothing but {@code once}.
     *
     * @throws ApiException 404 for a group gone; 409 for one too busy to change (the caller's retry does it)
     */
    public boolean changeMembershipOnce(String accountId, String groupId, String phone, boolean join, TransactWriteItem once) {
        get(accountId, groupId);
        if (!((join ? PhoneNumbers.normalize(phone, null) : PhoneNumbers.normalizeExisting(phone, null))
                instanceof PhoneNumbers.Valid valid)) {
            throw new IllegalArgumentException("not a phone number");
        }
        long now = clock.millis();
        try {
            return join
                    ? !members.addUnit(accountId, groupId, List.of(new MemberStore.Candidate(valid.e164(), null)),
                            result -> once, now, now + CHANGE_MILLIS).alreadyApplied()
                    : !members.removeUnit(accountId, groupId, List.of(valid.e164()), once, now, now + CHANGE_MILLIS)
                            .alreadyApplied();
        } catch (MemberStore.GroupGoneException e) {
            throw ApiException.notFound("group");
        } catch (MemberStore.ContentionException e) {
            throw busy(e, null);
        }
    }

    public void removeMember(String accountId, String groupId, String rawPhone) {
        get(accountId, groupId);
        String phone = pathPhone(rawPhone);
        boolean removed;
        try {
            long now = clock.millis();
            removed = members.remove(accountId, groupId, phone, now, now + CHANGE_MILLIS);
        } catch (MemberStore.ContentionException e) {
            throw busy(e, null);
        }
        if (!removed) throw ApiException.notFound("member " + phone + " of this group");
    }

    /** Most groups one request adds a number to. */
    public static final int MAX_GROUPS_PER_REQUEST = 100;

    /**
     * What a change of one number across groups did to each group, in the order given (or the list's).
     *
     * @param next where a removal from all groups goes on (the account's groups after the last one it read), null when
     *             it read them all
     */
    public record AcrossGroups(String phone, List<Group> changed, List<Group> unchanged, Map<String, AttributeValue> next) {
        AcrossGroups(String phone, List<Group> changed, List<Group> unchanged) {
            this(phone, changed, unchanged, null);
        }
    }

    /** How long one removal from all groups reads the account's groups before it answers with where to go on. */
    static final java.time.Duration ACROSS_GROUPS_BUDGET = java.time.Duration.ofSeconds(15);
    /** How long past {@link #ACROSS_GROUPS_BUDGET} the removal begun last may take, its retries included. */
    static final long ACROSS_GROUPS_REMOVALS_MARGIN_MILLIS = 5_000;

    /**
     * Adds the number to each of the groups (all must be the account's: else a 400 naming those that are not, and
     * nothing is added), under {@code name} when given (a member given another name takes it, as an add does). Each
     * group's add is its own transaction, stamped like any add; a retry adds nothing twice ({@code unchanged} then).
     */
    public AcrossGroups addToGroups(String accountId, String phone, String name, List<String> groupIds) {
        List<Group> found = accountGroups(accountId, groupIds);
        List<Group> changed = new ArrayList<>();
        List<Group> unchanged = new ArrayList<>();
        var candidate = List.of(new MemberStore.Candidate(phone, name));
        long giveUpAt = clock.millis() + CHANGE_MILLIS; // the request's, over all its groups
        for (Group g : found) {
            MemberStore.UnitResult result;
            try {
                result = members.addUnit(accountId, g.id(), candidate, null, clock.millis(), giveUpAt);
            } catch (MemberStore.GroupGoneException e) {
                continue; // deleted meanwhile: the number is in neither list (it was listed as already in it)
            } catch (MemberStore.ContentionException e) {
                throw busy(e, changed.isEmpty() ? null : "it was added to " + changed.size() + " of the groups before it");
            }
            (result.added() + result.updated() > 0 ? changed : unchanged).add(g);
        }
        return new AcrossGroups(phone, changed, unchanged);
    }

    /**
     * Removes the number from each of {@code groupIds} it is a member of now ({@code changed}; the others, and a group
     * deleted meanwhile, {@code unchanged}: a retry finds it in none), each removal its own transaction, stamped like a
     * single removal; any id not a group of the account is a 400 before anything changes.
     */
    public AcrossGroups removeFromGroups(String accountId, String phone, List<String> groupIds) {
        List<Group> changed = new ArrayList<>();
        List<Group> unchanged = new ArrayList<>();
        List<Group> found = accountGroups(accountId, groupIds);
        long giveUpAt = clock.millis() + CHANGE_MILLIS; // the request's, over all its groups
        for (Group g : found) {
            try {
                (members.remove(accountId, g.id(), phone, clock.millis(), giveUpAt) ? changed : unchanged).add(g);
            } catch (MemberStore.ContentionException e) {
                throw busy(e, changed.isEmpty() ? null : "it was removed from " + changed.size() + " of the groups before it");
            }
        }
        return new AcrossGroups(phone, changed, unchanged);
    }

    /** The account's groups of {@code groupIds} (each once, in order); a 400 naming any that is none of them. */
    private List<Group> accountGroups(String accountId, List<String> groupIds) {
        List<String> unique = groupIds.stream().distinct().toList();
        Map<String, Group> byId = groups.getAll(accountId, unique);
        List<String> unknown = unique.stream().filter(id -> !byId.containsKey(id)).toList();
        if (!unknown.isEmpty()) throw ApiException.invalid("groupIds: no such group in this account: " + unknown);
        return unique.stream().map(byId::get).toList();
    }

    /**
     * Removes the number from every group of the account it is a member of now ({@code changed}; a retry finds none).
     * The groups are read 100 at a time with the number's membership in each (as {@code GET /v1/groups?member=}),
     * then each removal is its own transaction, stamped like a single removal. After 15 s of it (tens of thousands of
     * groups) the answer says where to go on ({@code next}), so a request never runs into its function's timeout.
     */
    public AcrossGroups removeFromAllGroups(String accountId, String phone, Map<String, AttributeValue> from) {
        List<Group> removed = new ArrayList<>();
        Map<String, AttributeValue> start = from;
        long deadline = clock.millis() + ACROSS_GROUPS_BUDGET.toMillis();
        // a removal begun within the time that is still retrying (under contention) 5 s past it ends in a 409 saying how
        // many went: well within API Gateway's 29 s
        long giveUpAt = deadline + ACROSS_GROUPS_REMOVALS_MARGIN_MILLIS;
        do {
            var page = listMatching(accountId, phone, null, MATCHING_STEP, start);
            List<Group> found = page.groups();
            for (int i = 0; i < found.size(); i++) {
                Group g = found.get(i);
                try {
                    if (members.remove(accountId, g.id(), phone, clock.millis(), giveUpAt)) removed.add(g);
                } catch (MemberStore.ContentionException e) {
                    throw busy(e, removed.isEmpty() ? null : "it was removed from " + removed.size() + " groups before it");
                }
                if (clock.millis() > deadline && (i + 1 < found.size() || page.lastKey() != null)) {
                    // out of time part way through a page (removals slowed: a page of 100 took minutes under
                    // throttling): the caller goes on after this group
                    return new AcrossGroups(phone, removed, List.of(), GroupStore.groupKey(accountId, g.id()));
                }
            }
            start = page.lastKey();
            if (start != null && clock.millis() > deadline) {
                // an account with very many groups: this much is done, the caller goes on from here
                return new AcrossGroups(phone, removed, List.of(), start);
            }
        } while (start != null);
        return new AcrossGroups(phone, removed, List.of());
    }

    /**
     * How long a batch add or removal tries, its retries under contention included, before its 409: well within API
     * Gateway's 29 s (a unit of 98 under 40 requests at once took 15-19 s), counting a transaction's own retries (6 s).
     */
    static final long CHANGE_MILLIS = 15_000;

    /**
     * Many changes of one group at once, and this one lost to them every time: a 409 to retry, not a server error.
     * A batch's units before it stand (each is all or nothing), and the answer says how many numbers they changed;
     * its retry counts them as done. Then the 409 comes after part of the work: under an Idempotency-Key its claim is
     * kept for the retry (another request under the key meets a 409), unlike after an answer that changed nothing.
     */
    private static ApiException busy(MemberStore.ContentionException e, String doneBefore) {
        Log.warn("membership_contention", Map.of("reason", e.getMessage()));
        // out of time, the tries may have been slow (a throttled table) rather than beaten: the advice is the same
        var busy = ApiException.conflict((e.outOfTime
                ? "the group's members could not be changed within the request's time (many changes at once, or a busy store); retry the request"
                : "the group's members are being changed by many requests at this moment; retry the request")
                + (doneBefore == null ? "" : " (" + doneBefore + ")"));
        return doneBefore == null ? busy : busy.afterPartOfTheWork();
    }

    /** A phone given in a path: E.164 (a 400 that says how to give it otherwise). */
    private static String pathPhone(String rawPhone) {
        return PhoneNumbers.e164FromPath(rawPhone);
    }

    /**
     * One page of a message's recipients: members present at {@code acceptedAt}, in phone order, the errors of those
     * marked undeliverable (by phone; the message skips them), and the names of the named ones as the page read them.
     */
    public record RecipientPage(List<String> phones, Map<String, String> undeliverable, Map<String, String> names,
                                String lastPhone, boolean done) {
        public RecipientPage {
            phones = List.copyOf(phones);
            undeliverable = Map.copyOf(undeliverable);
            names = Map.copyOf(names);
        }
    }

    /**
     * Reads up to {@code pageSize} membership rows after {@code afterPhone} (null: from the start) and keeps the
     * numbers present at {@code acceptedAt} (the snapshot rule). Works for deleted groups too: their rows are
     * tombstoned, not removed, so a message accepted before the deletion still reaches its recipients.
     */
    public RecipientPage recipientsAt(String accountId, String groupId, long acceptedAt, String afterPhone, int pageSize) {
        var page = members.rowsAfter(accountId, groupId, afterPhone, pageSize);
        List<String> phones = new ArrayList<>();
        Map<String, String> undeliverable = new HashMap<>();
        Map<String, String> names = new HashMap<>();
        for (var row : page.rows()) {
            if (!MemberStore.presentAt(row, acceptedAt)) continue;
            String phone = groupmsg.platform.dynamo.Attr.str(row, "sk");
            phones.add(phone);
            String name = groupmsg.platform.dynamo.Attr.str(row, "name");
            if (name != null && !name.isEmpty()) names.put(phone, name);
            Undeliverable mark = Undeliverable.of(row);
            if (mark != null) undeliverable.put(phone, mark.brief());
        }
        return new RecipientPage(phones, undeliverable, names, page.lastPhone(), page.lastPhone() == null);
    }

    public static String membersPartition(String accountId, String groupId) {
        return MemberStore.groupPk(accountId, groupId);
    }

    public static String accountPartition(String accountId) {
        return GroupStore.accountPk(accountId);
    }

    MemberStore memberStore() {
        return members;
    }

    GroupStore groupStore() {
        return groups;
    }
}
