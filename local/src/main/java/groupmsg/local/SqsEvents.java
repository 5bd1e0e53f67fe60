package groupmsg.local;

import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;

import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The JSON event Lambda's SQS event source mapping sends to a function for a batch of received messages: one
 * record per message with its id, receipt handle, body, MD5s, system attributes (ApproximateReceiveCount,
 * SentTimestamp, and MessageGroupId, MessageDeduplicationId and SequenceNumber on FIFO queues), message
 * attributes in Lambda's shape (binary values base64), the queue's ARN and region.
 */
public final class SqsEvents {
    private SqsEvents() {}

    public static Map<String, Object> event(List<Message> messages, String queueArn, String region) {
        return Map.of("Records", messages.stream().map(m -> record(m, queueArn, region)).toList());
    }

    static Map<String, Object> record(Message message, String queueArn, String region) {
        var record = new LinkedHashMap<String, Object>();
        record.put("messageId", message.messageId());
        record.put("receiptHandle", message.receiptHandle());
        record.put("body", message.body());
        record.put("attributes", new TreeMap<>(message.attributesAsStrings()));
        var attributes = new LinkedHashMap<String, Object>();
        message.messageAttributes().forEach((name, value) -> attributes.put(name, attribute(value)));
        record.put("messageAttributes", attributes);
        record.put("md5OfBody", message.md5OfBody());
        if (message.md5OfMessageAttributes() != null) record.put("md5OfMessageAttributes", message.md5OfMessageAttributes());
        record.put("eventSource", "aws:sqs");
        record.put("eventSourceARN", queueArn);
        record.put("awsRegion", region);
        return record;
    }

    private static Map<String, Object> attribute(MessageAttributeValue value) {
        var attribute = new LinkedHashMap<String, Object>();
        if (value.stringValue() != null) attribute.put("stringValue", value.stringValue());
        if (value.binaryValue() != null) {
            attribute.put("binaryValue", Base64.getEncoder().encodeToString(value.binaryValue().asByteArray()));
        }
        attribute.put("stringListValues", value.hasStringListValues() ? value.stringListValues() : List.of());
        attribute.put("binaryListValues", value.hasBinaryListValues()
                ? value.binaryListValues().stream().map(b -> Base64.getEncoder().encodeToString(b.asByteArray())).toList()
                : List.of());
        attribute.put("dataType", value.dataType());
        return attribute;
    }
}
