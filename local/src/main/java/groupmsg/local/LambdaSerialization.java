package groupmsg.local;

import com.amazonaws.services.lambda.runtime.serialization.PojoSerializer;
import com.amazonaws.services.lambda.runtime.serialization.events.LambdaEventSerializers;
import com.amazonaws.services.lambda.runtime.serialization.factories.JacksonFactory;

import java.lang.reflect.Type;

/**
 * Turns JSON into a handler's input and its output back into JSON with the Lambda Java runtime's own
 * serialisation, chosen the way the runtime chooses it: the event classes it knows (SQSEvent, ScheduledEvent,
 * SNSEvent...) get their dedicated serialisers with the mix-ins that map AWS's field names ({@code Records},
 * {@code eventSourceARN}, {@code detail-type}); every other type gets the runtime's Jackson mapper. So an event
 * file, or the JSON the local gateway builds, becomes exactly the object Lambda would hand the handler.
 */
final class LambdaSerialization {
    private LambdaSerialization() {}

    @SuppressWarnings("unchecked")
    static PojoSerializer<Object> serializerFor(Type type, ClassLoader loader) {
        if (type instanceof Class<?> c && LambdaEventSerializers.isLambdaSupportedEvent(c.getName())) {
            return (PojoSerializer<Object>) LambdaEventSerializers.serializerFor(c, loader);
        }
        return JacksonFactory.getInstance().getSerializer(type);
    }
}
