package groupmsg.platform.queue;

import groupmsg.platform.schema.QueueDef;

import java.util.List;

/** The queue port: enqueue messages for a worker. */
public interface QueueSender {
    /** Sends every message or throws; never silently drops one. */
    void send(QueueDef queue, List<QueueMessage> messages);
}
