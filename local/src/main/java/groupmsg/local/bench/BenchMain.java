package groupmsg.local.bench;

/**
 * How every benchmark program ends: exit 0 after its figures, 1 (with the stack trace) if it failed. The exit is
 * explicit because threads of the in-process runtime and the SDK's idle-connection reapers outlive their owners'
 * close() and would keep the JVM up (and a benchmark that failed would hang instead of reporting).
 */
final class BenchMain {
    interface Body {
        void run() throws Exception;
    }

    private BenchMain() {}

    static void runThenExit(Body body) {
        try {
            body.run();
        } catch (Throwable t) {
            t.printStackTrace();
            System.exit(1);
        }
        System.exit(0);
    }
}
