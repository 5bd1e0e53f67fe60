package groupmsg.usage;

import groupmsg.lines.Line;
import groupmsg.lines.LineService;
import groupmsg.platform.api.ApiException;
import groupmsg.platform.config.Wiring;
import groupmsg.platform.schema.Tables;

import java.time.Clock;
import java.time.DateTimeException;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/** Billed usage per month: the sum of the per-line counters the delivery worker records through {@link UsageStore}. */
public final class UsageService {
    private static final Pattern MONTH = Pattern.compile("\\d{4}-\\d{2}");

    private final UsageStore store;
    private final LineService lines;
    private final Clock clock;

    public UsageService(Wiring wiring) {
        this(wiring, new LineService(wiring));
    }

    public UsageService(Wiring wiring, LineService lines) {
        this.store = new UsageStore(wiring.dynamo(), wiring.config().table(Tables.CORE));
        this.lines = lines;
        this.clock = wiring.clock();
    }

    /** @param month {@code YYYY-MM}; null -> the current UTC month */
    public Usage usage(String accountId, String month) {
        YearMonth ym = month == null ? YearMonth.now(clock.withZone(ZoneOffset.UTC)) : parseMonth(month);
        List<UsageStore.LineCounts> counts = store.month(accountId, ym);
        Map<String, String> phones = lines.findAll(accountId, counts.stream().map(UsageStore.LineCounts::lineId).toList())
                .stream().collect(Collectors.toMap(Line::id, Line::phone, (a, b) -> a));
        long messages = 0;
        long segments = 0;
        long mms = 0;
        List<Usage.LineUsage> byLine = new ArrayList<>(counts.size());
        Map<String, UsageStore.Counts> byKind = new TreeMap<>();
        for (var c : counts) {
            messages += c.messages();
            segments += c.segments();
            mms += c.mms();
            byLine.add(new Usage.LineUsage(c.lineId(), phones.get(c.lineId()), c.messages(), c.segments(), c.mms(),
                    c.byKind()));
            c.byKind().forEach((kind, k) -> byKind.merge(kind, k, (x, y) ->
                    new UsageStore.Counts(x.messages() + y.messages(), x.segments() + y.segments(), x.mms() + y.mms())));
        }
        return new Usage(ym.toString(), messages, segments, mms, byKind, List.copyOf(byLine));
    }

    /** {@code YYYY-MM} (month 01..12), else 400. */
    public static YearMonth parseMonth(String month) {
        String m = month.strip();
        if (!MONTH.matcher(m).matches()) throw badMonth(month);
        try {
            return YearMonth.parse(m);
        } catch (DateTimeException e) {
            throw badMonth(month);
        }
    }

    private static ApiException badMonth(String month) {
        String echoed = month.length() <= 20 ? month : month.substring(0, 20) + "...";
        return ApiException.invalid("month must be YYYY-MM (e.g. 2026-11), not '" + echoed + "'",
                List.of(Map.of("field", "month", "message", "must be YYYY-MM")));
    }
}
