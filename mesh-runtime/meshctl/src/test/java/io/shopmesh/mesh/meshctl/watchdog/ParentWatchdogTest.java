package io.shopmesh.mesh.meshctl.watchdog;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ParentWatchdogTest {

  /**
   * Stands in for an app: arms the watchdog on the given pid, then sleeps far longer than the test.
   */
  public static final class Sleeper {
    public static void main(String[] args) throws InterruptedException {
      ParentWatchdog.premain(args[0]);
      Thread.sleep(120_000);
    }
  }

  @Test
  void childExitsWhenTheSupervisorIsKilled() throws Exception {
    Process supervisor = new ProcessBuilder("sleep", "120").start();
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process child =
        new ProcessBuilder(
                List.of(
                    java,
                    "-Xmx32m",
                    "-XX:TieredStopAtLevel=1",
                    "-XX:+UseSerialGC",
                    "-cp",
                    System.getProperty("java.class.path"),
                    Sleeper.class.getName(),
                    Long.toString(supervisor.pid())))
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    try {
      Thread.sleep(1500);
      assertThat(child.isAlive()).isTrue();
      supervisor.destroyForcibly(); // SIGKILL: no hook of the supervisor runs
      assertThat(child.waitFor(10, TimeUnit.SECONDS))
          .as("child exited after its supervisor died")
          .isTrue();
    } finally {
      supervisor.destroyForcibly();
      child.destroyForcibly();
    }
  }
}
