package io.shopmesh.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/** Command-line settings; {@code --smoke} shortens every phase to a few seconds. */
final class Options {

  boolean smoke;
  Set<String> sections =
      new LinkedHashSet<>(List.of("dataplane", "controlplane", "translation", "startup"));

  /** wrk -d for the maximum-throughput run (seconds). */
  int maxSeconds = 10;

  /** Warm-up before each target (closed loop, not recorded). */
  int warmupSeconds = 8;

  /** The open-loop rate and how long it is recorded. */
  int rate = 1000;

  int rateSeconds = 20;

  /** Connections of the throughput run (wrk -c) and of the open-loop run. */
  int connections = 32;

  int rateConnections = 16;
  int wrkThreads = 1;

  /** Convergence: proxy counts and rounds per count. */
  List<Integer> proxyCounts = List.of(1, 10, 100);

  int rounds = 5;

  /** Translation: synthetic mesh size and time budget per measured push. */
  int services = 1000;

  int subsets = 3;
  int proxies = 2000;
  int translationBudgetSeconds = 60;
  String translationHeap = "-Xmx6g";

  /** Loopback /24 the harness's pods use (not meshctl's 127.0.1). */
  String subnet = "127.0.77";

  /** Start-up: meshctl's pods go in their own /24 with the gateway on this port. */
  String startupSubnet = "127.0.78";

  int startupGatewayPort = 18080;

  /** Markdown results file (the full run writes docs/performance.md). */
  String out;

  /** Flags for the proxy JVMs instead of meshctl's (to try e.g. C2). */
  List<String> proxyJvm = new ArrayList<>();

  String label = "";

  /** Name of the results block in the output file (several runs can sit side by side). */
  String block = "results";

  /** Tools to act as if not installed (to try the fallbacks): nginx, haproxy, wrk. */
  Set<String> without = new LinkedHashSet<>();

  /** Data plane rows to measure (default all). */
  Set<String> targets = new LinkedHashSet<>();

  static Options parse(String[] args) {
    Options o = new Options();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      String v = null;
      int eq = a.indexOf('=');
      if (a.startsWith("--") && eq > 0) {
        v = a.substring(eq + 1);
        a = a.substring(0, eq);
      }
      Supplier<String> next = nextValue(args, i, v);
      switch (a) {
        case "--smoke" -> o.smoke();
        case "--only" -> {
          o.sections = new LinkedHashSet<>(Arrays.asList(next.get().split(",")));
          if (v == null) {
            i++;
          }
        }
        case "--skip" -> {
          Arrays.asList(next.get().split(",")).forEach(o.sections::remove);
          if (v == null) {
            i++;
          }
        }
        case "--max-seconds" -> {
          o.maxSeconds = Integer.parseInt(next.get());
          if (v == null) {
            i++;
          }
        }
        case "--warmup-seconds" -> {
          o.warmupSeconds = Integer.parseInt(next.get());
          if (v == null) {
            i++;
          }
        }
        case "--rate" -> {
          o.rate = Integer.parseInt(next.get());
          if (v == null) {
            i++;
          }
        }
        case "--rate-seconds" -> {
          o.rateSeconds = Integer.parseInt(next.get());
          if (v == null) {
            i++;
          }
        }
        case "--connections" -> {
          o.connections = Integer.parseInt(next.get());
          if (v == null) {
            i++;
          }
        }
        case "--rate-connections" -> {
          o.rateConnections = Integer.parseInt(next.get());
          if (v == null) {
            i++;
          }
        }
        case "--wrk-threads" -> {
          o.wrkThreads = Integer.parseInt(next.get());
          if (v == null) {
            i++;
          }
        }
        case "--proxy-counts" -> {
          o.proxyCounts = Arrays.stream(next.get().split(",")).map(Integer::valueOf).toList();
          if (v == null) {
            i++;
          }
        }
        case "--rounds" -> {
          o.rounds = Integer.parseInt(next.get());
          if (v == null) {
            i++;
          }
        }
        case "--services" -> {
          o.services = Integer.parseInt(next.get());
          if (v == null) {
            i++;
          }
        }
        case "--proxies" -> {
          o.proxies = Integer.parseInt(next.get());
          if (v == null) {
            i++;
          }
        }
        case "--translation-budget" -> {
          o.translationBudgetSeconds = Integer.parseInt(next.get());
          if (v == null) {
            i++;
          }
        }
        case "--subnet" -> {
          o.subnet = next.get();
          if (v == null) {
            i++;
          }
        }
        case "--out" -> {
          o.out = next.get();
          if (v == null) {
            i++;
          }
        }
        case "--label" -> {
          o.label = next.get();
          if (v == null) {
            i++;
          }
        }
        case "--block" -> {
          o.block = next.get();
          if (v == null) {
            i++;
          }
        }
        case "--without" -> {
          o.without = new LinkedHashSet<>(Arrays.asList(next.get().split(",")));
          if (v == null) {
            i++;
          }
        }
        case "--targets" -> {
          o.targets = new LinkedHashSet<>(Arrays.asList(next.get().split(",")));
          if (v == null) {
            i++;
          }
        }
        case "--proxy-jvm" -> {
          o.proxyJvm = Arrays.asList(next.get().trim().split("\\s+"));
          if (v == null) {
            i++;
          }
        }
        case "-h", "--help" -> {
          System.out.println(usage());
          System.exit(0);
        }
        default -> throw new IllegalArgumentException("unknown option " + args[i] + "\n" + usage());
      }
    }
    return o;
  }

  private static Supplier<String> nextValue(String[] args, int i, String inline) {
    return () -> {
      if (inline != null) {
        return inline;
      }
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException(args[i] + " needs a value");
      }
      return args[i + 1];
    };
  }

  void smoke() {
    smoke = true;
    maxSeconds = 2;
    warmupSeconds = 1;
    rateSeconds = 3;
    rounds = 1;
    proxyCounts = List.of(1, 10);
    services = 50;
    proxies = 100;
    translationBudgetSeconds = 20;
    translationHeap = "-Xmx1g";
    sections.remove("startup");
  }

  static String usage() {
    return """
        usage: bench/run.sh [--smoke] [--only dataplane,controlplane,translation,startup] [--skip ...]
                            [--max-seconds 10] [--warmup-seconds 8] [--rate 1000] [--rate-seconds 20]
                            [--connections 32] [--rate-connections 16] [--wrk-threads 1]
                            [--proxy-counts 1,10,100] [--rounds 5] [--services 1000] [--proxies 2000]
                            [--translation-budget 60] [--subnet 127.0.77] [--out FILE]
                            [--proxy-jvm "-Xmx128m ..."] [--label TEXT] [--block NAME]
                            [--without nginx,haproxy,wrk]
                            [--targets direct,sidecar,mesh,gateway,nginx,haproxy]""";
  }
}
