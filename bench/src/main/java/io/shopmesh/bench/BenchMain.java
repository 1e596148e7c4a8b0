package io.shopmesh.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The benchmark: data plane (direct, sidecar, mesh, gateway, nginx, HAProxy), control plane
 * (convergence, translation) and start-up, in one run; prints the table and writes it into the
 * results block of the output file. Run with {@code bench/run.sh} (see docs/performance.md).
 */
public final class BenchMain {

  private BenchMain() {}

  public static void main(String[] args) throws Exception {
    Options o = Options.parse(args);
    Procs.HIDDEN.addAll(o.without);
    Path repo = Path.of(System.getProperty("bench.repo", ".")).toAbsolutePath().normalize();
    Path work = Files.createTempDirectory("shop-mesh-bench-");
    Env env = new Env(o, repo, work);
    Report report =
        new Report(
            o, System.getProperty("bench.command", "bench/run.sh " + String.join(" ", args)));
    report.machine = Machine.describe();
    report.loadBefore = Machine.loadAverage();
    report.started = Instant.now();
    Env.say("work directory %s (logs in %s/logs)", work, work);
    Env.say("machine: %s; load average %s", report.machine.get("summary"), report.loadBefore);
    report.versions.put(
        "java",
        System.getProperty("java.runtime.version")
            + " ("
            + System.getProperty("java.vm.name")
            + ")");
    String head =
        Procs.capture(List.of("git", "-C", repo.toString(), "rev-parse", "--short", "HEAD"), 5);
    String dirty =
        Procs.capture(
            List.of("git", "-C", repo.toString(), "status", "--porcelain", "--untracked-files=no"),
            5);
    report.versions.put(
        "mesh",
        "commit "
            + (head.isEmpty() ? "?" : head)
            + (dirty.isEmpty() ? "" : " (with local changes)"));
    Wrk wrk = Wrk.find();
    report.versions.put(
        "wrk", wrk == null ? "not installed (Java closed loop used instead)" : wrk.version());

    if (o.sections.contains("dataplane")) {
      try (DataPlane dp = new DataPlane(env)) {
        dp.start();
        report.upstream = dp.upstreamKind();
        report.versions.putAll(dp.versions);
        report.notes.addAll(dp.notes);
        String idle = dp.idle(o.smoke ? 2 : 10);
        Env.say("%s", idle);
        report.notes.add(idle);
        dp.warmLoadGenerator();
        for (DataPlane.Target t : dp.targets()) {
          if (!o.targets.isEmpty() && !o.targets.contains(t.name())) {
            continue;
          }
          try {
            report.dataPlane.add(dp.measure(t, wrk));
          } catch (Exception e) {
            report.failed("data plane " + t.name(), e);
          }
        }
      } catch (Exception e) {
        report.failed("data plane", e);
      }
    }
    if (o.sections.contains("controlplane")) {
      try (Convergence c = new Convergence(env)) {
        c.start();
        report.convergence.addAll(c.run());
      } catch (Exception e) {
        report.failed("convergence", e);
      }
    }
    if (o.sections.contains("translation")) {
      try {
        report.translation = runTranslation(env);
      } catch (Exception e) {
        report.failed("translation", e);
      }
    }
    if (o.sections.contains("startup")) {
      try {
        report.startup = new Startup(env).run();
      } catch (Exception e) {
        report.failed("start-up", e);
      }
    }
    report.loadAfter = Machine.loadAverage();
    report.finished = Instant.now();
    String text = report.markdown();
    System.out.println();
    System.out.println(text);
    Path out =
        o.out != null
            ? Path.of(o.out)
            : repo.resolve(o.smoke ? "bench/target/bench-smoke.md" : "bench/target/bench.md");
    Report.writeInto(out, o.block, text);
    Env.say("results written to %s", out);
    Procs.killAll();
    System.exit(report.failures.isEmpty() ? 0 : 1);
  }

  /**
   * The translation benchmark in its own JVM (istiod's flags with a larger heap); its key=value
   * lines.
   */
  static Map<String, String> runTranslation(Env env) throws Exception {
    Options o = env.o;
    List<String> argv = env.meshJvm(o.translationHeap, null);
    argv.set(argv.indexOf("-Xms16m"), "-Xms256m");
    argv.addAll(
        List.of(
            Translation.class.getName(),
            Integer.toString(o.services),
            Integer.toString(o.subsets),
            Integer.toString(o.proxies),
            Integer.toString(o.translationBudgetSeconds)));
    Env.say(
        "translation: %d services x %d subsets, %d proxies (budget %d s per push)",
        o.services, o.subsets, o.proxies, o.translationBudgetSeconds);
    Path log = env.log("translation");
    Process p = Procs.start(argv, log, null);
    if (!p.waitFor(o.translationBudgetSeconds * 3L + 180, TimeUnit.SECONDS)) {
      Procs.stop(p);
      throw new IOException("translation benchmark did not finish; see " + log);
    }
    Map<String, String> out = new LinkedHashMap<>();
    Pattern kv = Pattern.compile("^translation\\.(\\w+)=(.*)$");
    for (String line : Files.readAllLines(log)) {
      Matcher m = kv.matcher(line);
      if (m.matches()) {
        out.put(m.group(1), m.group(2));
      }
    }
    if (p.exitValue() != 0 || !out.containsKey("one_vs_ms")) {
      throw new IOException(
          "translation benchmark failed (exit "
              + p.exitValue()
              + "); see "
              + log
              + "\n"
              + String.join("\n", Files.readAllLines(log).stream().limit(30).toList()));
    }
    Env.say(
        "translation: full push %s for %s proxies (%.1f ms per proxy), one VS changed %s",
        Report.dur(Double.parseDouble(out.get("full_ms_all_proxies"))),
        o.proxies,
        Double.parseDouble(out.get("full_ms_per_proxy")),
        Report.dur(Double.parseDouble(out.get("one_vs_ms_all_proxies"))));
    return out;
  }

  /** What the machine is: nproc, CPU model, memory, kernel; and its load. */
  static final class Machine {
    static Map<String, String> describe() {
      Map<String, String> m = new LinkedHashMap<>();
      m.put("nproc", Integer.toString(Runtime.getRuntime().availableProcessors()));
      String model = "?";
      try {
        for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
          if (l.startsWith("model name")) {
            model = l.substring(l.indexOf(':') + 1).trim();
            break;
          }
        }
      } catch (IOException e) {
        // not Linux
      }
      m.put("cpu", model);
      long memKb = 0;
      try {
        for (String l : Files.readAllLines(Path.of("/proc/meminfo"))) {
          if (l.startsWith("MemTotal:")) {
            memKb = Long.parseLong(l.replaceAll("\\D", ""));
          }
        }
      } catch (IOException | NumberFormatException e) {
        // not Linux
      }
      m.put("memory", String.format("%.1f GiB", memKb / 1024.0 / 1024.0));
      m.put("kernel", Procs.capture(List.of("uname", "-sr"), 5));
      m.put(
          "summary",
          m.get("nproc")
              + " CPUs ("
              + m.get("cpu")
              + "), "
              + m.get("memory")
              + ", "
              + m.get("kernel"));
      return m;
    }

    static String loadAverage() {
      try {
        String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
        return f[0] + " " + f[1] + " " + f[2];
      } catch (IOException e) {
        return "?";
      }
    }
  }

  static List<String> lines(String s) {
    return new ArrayList<>(s.lines().toList());
  }
}
