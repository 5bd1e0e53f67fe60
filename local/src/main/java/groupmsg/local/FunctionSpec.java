package groupmsg.local;

import groupmsg.platform.schema.HandlerDef;

/** What the runtime needs to know about a function besides its code: its name, timeout and memory. */
public record FunctionSpec(String name, int timeoutSeconds, int memoryMb) {

    public FunctionSpec {
        if (timeoutSeconds < 1) throw new IllegalArgumentException("timeout must be >= 1 s");
    }

    public static FunctionSpec of(HandlerDef handler) {
        return new FunctionSpec(handler.name(), handler.timeoutSeconds(), handler.memoryMb());
    }
}
