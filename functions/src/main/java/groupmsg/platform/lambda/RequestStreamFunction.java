package groupmsg.platform.lambda;

import com.amazonaws.services.lambda.runtime.RequestStreamHandler;

/** A function as Lambda runs it (bytes in, bytes out), with its SnapStart priming. */
public interface RequestStreamFunction extends RequestStreamHandler {
    /** The hook registered for this function (see {@link Priming}). */
    Priming priming();
}
