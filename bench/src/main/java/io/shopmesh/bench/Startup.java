package io.shopmesh.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Start-up: {@code ./meshctl up -d} on the repository's manifests (in its own loopback /24, state
 * directory and gateway port), polling the gateway every 50 ms for the first 200 answer to {@code
 * Host: shop.example.com}; then {@code ./meshctl down}.
 */
final class Startup {

  record Result(double firstRoutedSeconds, double upReturnedSeconds, int upExit, String note) {}

  private final Env env;

  Startup(Env env) {
    this.env = env;
  }

  Result run() throws Exception {
    Path meshctl = env.repo.resolve("meshctl");
    Path stateDir = env.work.resolve("startup-state");
    Files.createDirectories(stateDir);
    int port = env.o.startupGatewayPort;
    String subnet = env.o.startupSubnet;
    List<String> common = List.of("--state-dir", stateDir.toString());
    List<String> up =
        new ArrayList<>(
            List.of(
                meshctl.toString(),
                "up",
                "-d",
                "--no-build",
                "--gateway-port",
                Integer.toString(port),
                "--subnet",
                subnet,
                "--istiod-address",
                subnet + ".250",
                "--timeout",
                "240"));
    up.addAll(common);
    Env.say("start-up: %s", String.join(" ", up));
    long t0 = System.nanoTime();
    Process p = Procs.start(up, env.log("meshctl-up"), null);
    double first = Double.NaN;
    double returned = Double.NaN;
    int exit = -1;
    try {
      long deadline = t0 + TimeUnit.SECONDS.toNanos(300);
      while (System.nanoTime() < deadline) {
        if (Double.isNaN(returned) && !p.isAlive()) {
          returned = (System.nanoTime() - t0) / 1e9;
          exit = p.exitValue();
          if (exit != 0) {
            break;
          }
        }
        if (Double.isNaN(first) && Http.ok("127.0.0.1", port, "shop.example.com", "/")) {
          first = (System.nanoTime() - t0) / 1e9;
        }
        if (!Double.isNaN(first) && !Double.isNaN(returned)) {
          break;
        }
        Thread.sleep(50);
      }
    } finally {
      List<String> down = new ArrayList<>(List.of(meshctl.toString(), "down"));
      down.addAll(common);
      Process d = Procs.start(down, env.log("meshctl-down"), null);
      if (!d.waitFor(60, TimeUnit.SECONDS)) {
        Procs.stop(d);
      }
      Procs.stop(p);
    }
    String note =
        exit == 0 ? "" : "meshctl up exited " + exit + " (see " + env.log("meshctl-up") + ")";
    if (Double.isNaN(first)) {
      throw new IOException(
          "no request was routed through the gateway; "
              + note
              + " "
              + Files.readString(env.log("meshctl-up"))
                  .lines()
                  .limit(40)
                  .reduce("", (a, b) -> a + "\n" + b));
    }
    Env.say(
        "start-up: first request routed after %.1f s, up -d returned after %.1f s",
        first, returned);
    return new Result(first, returned, exit, note);
  }
}
