package io.shopmesh.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.TimeUnit;

/**
 * The processes the harness starts (all killed on exit, by their own handles) and what /proc says
 * about them: CPU time (utime + stime) and resident memory (VmRSS), summed over the process tree so
 * that nginx's workers count.
 */
final class Procs {

  /** Clock ticks per second of /proc/PID/stat; 100 on every Linux we run on (getconf CLK_TCK). */
  static final double CLK_TCK = clockTicks();

  private static final List<Process> STARTED = new CopyOnWriteArrayList<>();

  /** Tools the run acts as if they were not installed (--without). */
  static final Set<String> HIDDEN = new CopyOnWriteArraySet<>();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(Procs::killAll, "bench-cleanup"));
  }

  private Procs() {}

  /** Starts a process with its output in a log file; it is stopped when the harness exits. */
  static Process start(List<String> argv, Path log, Map<String, String> env) throws IOException {
    Files.createDirectories(log.getParent());
    ProcessBuilder pb =
        new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(log.toFile());
    if (env != null) {
      pb.environment().putAll(env);
    }
    Process p = pb.start();
    STARTED.add(p);
    return p;
  }

  /**
   * SIGTERM, then SIGKILL after 5 s; children first gone with the parent (nginx master stops its
   * workers).
   */
  static void stop(Process p) {
    if (p == null) {
      return;
    }
    List<ProcessHandle> kids = p.descendants().toList();
    p.destroy();
    try {
      if (!p.waitFor(5, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        p.waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (ProcessHandle k : kids) {
      if (k.isAlive()) {
        k.destroyForcibly();
      }
    }
    STARTED.remove(p);
  }

  static void killAll() {
    for (Process p : new ArrayList<>(STARTED)) {
      stop(p);
    }
  }

  /** The pid and every descendant's pid. */
  static List<Long> tree(long pid) {
    List<Long> out = new ArrayList<>();
    out.add(pid);
    ProcessHandle.of(pid).ifPresent(h -> h.descendants().forEach(d -> out.add(d.pid())));
    return out;
  }

  /** CPU seconds (user + system) used so far by the process tree. */
  static double cpuSeconds(long pid) {
    double total = 0;
    for (long p : tree(pid)) {
      total += cpuSecondsOne(p);
    }
    return total;
  }

  static double cpuSecondsOne(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      // the command name is in parentheses and may contain spaces: fields start after the last ')'
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
      // f[0] is field 3 (state); utime is field 14, stime field 15
      long utime = Long.parseLong(f[11]);
      long stime = Long.parseLong(f[12]);
      return (utime + stime) / CLK_TCK;
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }

  /** Resident memory in bytes of the process tree (sum of VmRSS). */
  static long rssBytes(long pid) {
    long total = 0;
    for (long p : tree(pid)) {
      total += rssOne(p);
    }
    return total;
  }

  static long rssOne(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
        if (line.startsWith("VmRSS:")) {
          String[] f = line.substring(6).trim().split("\\s+");
          return Long.parseLong(f[0]) * 1024;
        }
      }
    } catch (IOException | RuntimeException e) {
      // gone
    }
    return 0;
  }

  /** Runs a short command and returns its output (first line trimmed), or "" when it fails. */
  static String capture(List<String> argv, long timeoutSeconds) {
    try {
      Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes());
      if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return "";
      }
      return out.trim();
    } catch (IOException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }

  /**
   * The executable's path when it is on PATH (or in /usr/sbin, where Debian puts nginx and
   * haproxy).
   */
  static String which(String name) {
    if (HIDDEN.contains(name)) {
      return null;
    }
    List<String> dirs =
        new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
    dirs.add("/usr/sbin");
    dirs.add("/sbin");
    for (String d : dirs) {
      if (d.isEmpty()) {
        continue;
      }
      Path p = Path.of(d, name);
      if (Files.isExecutable(p)) {
        return p.toString();
      }
    }
    return null;
  }

  private static double clockTicks() {
    String s = capture(List.of("getconf", "CLK_TCK"), 5);
    try {
      return Double.parseDouble(s);
    } catch (NumberFormatException e) {
      return 100;
    }
  }
}
