package groupmsg.local;

import java.util.LinkedHashMap;
import java.util.Map;

/** A queue as it exists after provisioning: where to reach it and its dead-letter queue. */
public record ProvisionedQueue(QueueSpec spec, String url, String arn, String dlqUrl, String dlqArn) {

    /**
     * The queues' URLs as handlers are given them: by name, and each dead-letter queue's by its name (a handler that
     * dead-letters its queue's messages itself sends there).
     */
    public static Map<String, String> urls(Map<String, ProvisionedQueue> queues) {
        var urls = new LinkedHashMap<String, String>();
        queues.forEach((name, q) -> {
            urls.put(name, q.url());
            urls.put(q.spec().dlqName(), q.dlqUrl());
        });
        return urls;
    }
}
