package io.shopmesh.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Runs wrk (closed loop, fixed connections, bounded duration) and reads its summary. */
final class Wrk {

  record Result(double rps, long requests, long errors, String raw) {}

  private static final Pattern RPS = Pattern.compile("Requests/sec:\\s+([0-9.]+)");
  private static final Pattern REQUESTS = Pattern.compile("(\\d+) requests in");
  private static final Pattern NON2XX = Pattern.compile("Non-2xx or 3xx responses:\\s+(\\d+)");
  private static final Pattern SOCKET =
      Pattern.compile("Socket errors: connect (\\d+), read (\\d+), write (\\d+), timeout (\\d+)");

  private final String exe;

  Wrk(String exe) {
    this.exe = exe;
  }

  static Wrk find() {
    String w = Procs.which("wrk");
    return w == null ? null : new Wrk(w);
  }

  String version() {
    // wrk -v prints "wrk 4.1.0 [epoll] Copyright ..." and exits 1
    String out = Procs.capture(List.of(exe, "-v"), 5);
    String first = out.lines().findFirst().orElse("");
    Matcher m = Pattern.compile("wrk (\\S+)").matcher(first);
    return m.find() ? m.group(1) : first;
  }

  Result run(LoadGen.Target t, int threads, int connections, int seconds, Path log)
      throws IOException, InterruptedException {
    List<String> argv =
        new ArrayList<>(
            List.of(
                exe,
                "-t",
                Integer.toString(threads),
                "-c",
                Integer.toString(connections),
                "-d",
                seconds + "s",
                "--timeout",
                "5s"));
    if (t.hostHeader() != null) {
      argv.addAll(List.of("-H", "Host: " + t.hostHeader()));
    }
    argv.add(t.url());
    Process p = Procs.start(argv, log, null);
    if (!p.waitFor(seconds + 30L, TimeUnit.SECONDS)) {
      Procs.stop(p);
      throw new IOException("wrk did not finish: " + argv);
    }
    Procs.stop(p);
    String out = Files.readString(log);
    Matcher m = RPS.matcher(out);
    if (!m.find()) {
      throw new IOException("no wrk summary in " + log + ":\n" + out);
    }
    double rps = Double.parseDouble(m.group(1));
    Matcher r = REQUESTS.matcher(out);
    long requests = r.find() ? Long.parseLong(r.group(1)) : (long) (rps * seconds);
    long errors = 0;
    Matcher n = NON2XX.matcher(out);
    if (n.find()) {
      errors += Long.parseLong(n.group(1));
    }
    Matcher s = SOCKET.matcher(out);
    if (s.find()) {
      for (int i = 1; i <= 4; i++) {
        errors += Long.parseLong(s.group(i));
      }
    }
    return new Result(rps, requests, errors, out);
  }
}
