package groupmsg.usage;

import java.util.List;
import java.util.Map;

/**
 * An account's billed usage in one UTC month: per recipient, SMS per segment, MMS one per recipient.
 *
 * @param month    {@code YYYY-MM}
 * @param messages recipients billed
 * @param segments SMS segments billed
 * @param mms      MMS billed
 */
public record Usage(String month, long messages, long segments, long mms, Map<String, UsageStore.Counts> byKind,
                    List<LineUsage> byLine) {

    /** One line's share, and by kind; {@code phone} is null if the line is unknown. */
    public record LineUsage(String lineId, String phone, long messages, long segments, long mms,
                            Map<String, UsageStore.Counts> byKind) {}
}
