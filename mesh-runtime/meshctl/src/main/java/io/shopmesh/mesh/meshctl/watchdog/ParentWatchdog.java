package io.shopmesh.mesh.meshctl.watchdog;

import java.lang.instrument.Instrumentation;
import java.time.Instant;
import java.util.Optional;

/**
 * A Java agent that ends its JVM when the meshctl supervisor that started it is gone, even when the
 * supervisor was killed with SIGKILL and could run no shutdown hook. Loaded with {@code
 * -javaagent:meshctl-watchdog.jar=<supervisor pid>}; it has no dependencies so it fits any JVM
 * (Quarkus apps, istiod, proxies) without touching their class path.
 */
public final class ParentWatchdog {

  private static final long POLL_MILLIS = 500;
  private static final long EXIT_GRACE_MILLIS = 3000;

  private ParentWatchdog() {}

  public static void premain(String args, Instrumentation inst) {
    premain(args);
  }

  public static void premain(String args) {
    if (args == null || args.isBlank()) {
      return;
    }
    long pid;
    try {
      pid = Long.parseLong(args.trim());
    } catch (NumberFormatException e) {
      System.err.println("meshctl watchdog: bad supervisor pid '" + args + "', not watching");
      return;
    }
    Optional<ProcessHandle> parent = ProcessHandle.of(pid);
    if (parent.isEmpty() || !parent.get().isAlive()) {
      // started after the supervisor died: nothing to serve
      Runtime.getRuntime().halt(143);
    }
    Optional<Instant> started = parent.get().info().startInstant();
    Thread t = new Thread(() -> watch(pid, started), "meshctl-watchdog");
    t.setDaemon(true);
    t.start();
  }

  private static void watch(long pid, Optional<Instant> started) {
    while (true) {
      try {
        Thread.sleep(POLL_MILLIS);
      } catch (InterruptedException e) {
        return;
      }
      Optional<ProcessHandle> h = ProcessHandle.of(pid);
      boolean alive =
          h.isPresent()
              && h.get().isAlive()
              && (started.isEmpty()
                  || h.get().info().startInstant().map(started.get()::equals).orElse(true));
      if (!alive) {
        System.err.println("meshctl watchdog: supervisor " + pid + " is gone, exiting");
        Thread killer =
            new Thread(
                () -> {
                  try {
                    Thread.sleep(EXIT_GRACE_MILLIS);
                  } catch (InterruptedException ignored) {
                    // halt anyway
                  }
                  Runtime.getRuntime().halt(143);
                },
                "meshctl-watchdog-halt");
        killer.setDaemon(true);
        killer.start();
        System.exit(143);
        return;
      }
    }
  }
}
