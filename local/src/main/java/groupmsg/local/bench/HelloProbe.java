package groupmsg.local.bench;

import java.lang.management.ManagementFactory;

/**
 * The baseline for {@link ColdStartProbe}: a hello world launched the same way, printing the same result line. It
 * must not call into ColdStartProbe, whose verification would load the Lambda classes that one refers to.
 */
public final class HelloProbe {
    public static void main(String[] args) {
        long at = System.currentTimeMillis();
        long classes = ManagementFactory.getClassLoadingMXBean().getTotalLoadedClassCount();
        System.out.println("COLDSTART " + at + " " + at + " " + at + " " + at + " " + classes + " ok");
    }
}
