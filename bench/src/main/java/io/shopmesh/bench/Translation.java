package io.shopmesh.bench;

import com.google.protobuf.Message;
import com.sun.management.ThreadMXBean;
import io.fabric8.istio.api.networking.v1.VirtualService;
import io.shopmesh.mesh.config.ConfigLoader;
import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.config.LoadResult;
import io.shopmesh.mesh.config.Located;
import io.shopmesh.mesh.config.MeshConfig;
import io.shopmesh.mesh.istiod.XdsServer;
import io.shopmesh.mesh.xds.PodPort;
import io.shopmesh.mesh.xds.ProxyNode;
import io.shopmesh.mesh.xds.PushContext;
import io.shopmesh.mesh.xds.ServiceRegistry;
import io.shopmesh.mesh.xds.WorkloadInstance;
import io.shopmesh.mesh.xds.XdsGenerator;
import io.shopmesh.mesh.xds.XdsResources;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Translation cost for a synthetic mesh (Istio's load-test shape: S services with K subsets each, P
 * sidecars), in its own JVM with istiod's JVM flags: config load, PushContext, a full push (every
 * proxy's LDS/RDS/CDS/EDS generated and hashed, as istiod's ADS server does on every push), and a
 * push after one VirtualService changed. A push that would take longer than the budget is measured
 * on the proxies done in time and extrapolated (said so in the output).
 *
 * <p>{@code Translation SERVICES SUBSETS PROXIES BUDGET_SECONDS}; prints {@code
 * translation.KEY=VALUE} lines.
 */
public final class Translation {

  private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();

  private Translation() {}

  public static void main(String[] args) throws Exception {
    int services = Integer.parseInt(args[0]);
    int subsets = Integer.parseInt(args[1]);
    int proxies = Integer.parseInt(args[2]);
    double budget = Double.parseDouble(args[3]);

    long heap0 = usedAfterGc();
    long t = System.nanoTime();
    LoadResult lr = new ConfigLoader().load(Path.of("synthetic.yaml"), yaml(services, subsets, 0));
    double loadMs = ms(t);
    long errors =
        lr.diagnostics().stream().filter(d -> d.level() == Diagnostic.Level.ERROR).count();
    MeshConfig config = lr.config();
    out("load_ms", loadMs);
    out("load_errors", errors);
    out("virtual_services", config.virtualServices().size());
    out("destination_rules", config.destinationRules().size());
    out("services", config.services().size());

    ServiceRegistry registry = registry(services, subsets, proxies);
    List<ProxyNode> nodes = registry.workloads().stream().map(ProxyNode::sidecar).toList();

    t = System.nanoTime();
    PushContext ctx = new PushContext(config);
    out("push_context_ms", ms(t));
    long heapConfig = usedAfterGc() - heap0;
    out("config_heap_bytes", heapConfig);

    // warm-up (JIT) on a few proxies, not counted
    long warmEnd = System.nanoTime() + (long) (Math.min(5, budget / 10) * 1e9);
    for (int i = 0; i < nodes.size() && System.nanoTime() < warmEnd; i++) {
      hashes(XdsGenerator.generate(ctx, registry, nodes.get(i)));
    }

    // full push
    String[][] before = new String[nodes.size()][];
    Push full = push(ctx, registry, nodes, before, null, budget);
    report("full", full, nodes.size());

    // retained memory: what istiod's cache keeps per proxy (one snapshot each)
    int keep = Math.min(nodes.size(), 20);
    long h0 = usedAfterGc();
    List<XdsResources> held = new ArrayList<>();
    long bytes = 0;
    for (int i = 0; i < keep; i++) {
      XdsResources r = XdsGenerator.generate(ctx, registry, nodes.get(i));
      held.add(r);
      bytes += size(r);
    }
    long perProxy = (usedAfterGc() - h0) / keep;
    out("retained_bytes_per_proxy", perProxy);
    out("serialized_bytes_per_proxy", bytes / keep);
    out("retained_bytes_all_proxies_estimate", perProxy * nodes.size());
    out(
        "resources_per_proxy",
        held.get(0).clusters().size()
            + "c/"
            + held.get(0).endpoints().size()
            + "e/"
            + held.get(0).routes().size()
            + "r/"
            + held.get(0).listeners().size()
            + "l");
    held.clear();

    // one VirtualService changed: new config, new PushContext, every proxy regenerated and compared
    t = System.nanoTime();
    LoadResult changed = new ConfigLoader().load(Path.of("vs-0.yaml"), vsYaml(0, subsets, 1));
    List<Located<VirtualService>> vss = new ArrayList<>(config.virtualServices());
    vss.set(0, changed.config().virtualServices().get(0));
    MeshConfig config2 =
        new MeshConfig(
            vss,
            config.destinationRules(),
            config.gateways(),
            config.serviceEntries(),
            config.services(),
            config.deployments(),
            config.namespaces());
    PushContext ctx2 = new PushContext(config2);
    out("one_vs_push_context_ms", ms(t));
    Push one = push(ctx2, registry, nodes.subList(0, full.done), before, before, budget);
    report("one_vs", one, nodes.size());
    out("one_vs_changed_proxies", one.changed);
  }

  /** One push over the proxies, bounded by the budget. */
  record Push(int done, double ms, long allocated, int changed, long maxPerProxyNanos) {}

  private static Push push(
      PushContext ctx,
      ServiceRegistry registry,
      List<ProxyNode> nodes,
      String[][] store,
      String[][] compare,
      double budgetSeconds)
      throws IOException {
    ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
    long a0 = threads.getCurrentThreadAllocatedBytes();
    long t0 = System.nanoTime();
    long deadline = t0 + (long) (budgetSeconds * 1e9);
    int done = 0;
    int changed = 0;
    long maxOne = 0;
    for (ProxyNode n : nodes) {
      long s = System.nanoTime();
      String[] h = hashes(XdsGenerator.generate(ctx, registry, n));
      maxOne = Math.max(maxOne, System.nanoTime() - s);
      if (compare != null && !Arrays.equals(compare[done], h)) {
        changed++;
      }
      store[done] = h;
      done++;
      if (System.nanoTime() > deadline) {
        break;
      }
    }
    return new Push(done, ms(t0), threads.getCurrentThreadAllocatedBytes() - a0, changed, maxOne);
  }

  private static void report(String name, Push p, int total) {
    out(name + "_proxies_done", p.done);
    out(name + "_ms", p.ms);
    out(name + "_ms_per_proxy", p.ms / p.done);
    out(name + "_max_ms_per_proxy", p.maxPerProxyNanos / 1e6);
    out(name + "_ms_all_proxies", p.done == total ? p.ms : p.ms / p.done * total);
    out(name + "_extrapolated", p.done < total);
    out(name + "_allocated_bytes_per_proxy", p.allocated / p.done);
  }

  /** Versions as istiod computes them: a hash of each type's resources, deterministic bytes. */
  static String[] hashes(XdsResources r) throws IOException {
    return new String[] {
      XdsServer.hash(r.clusters()),
      XdsServer.hash(r.endpoints()),
      XdsServer.hash(r.listeners()),
      XdsServer.hash(r.routes())
    };
  }

  static long size(XdsResources r) {
    long s = 0;
    for (List<? extends Message> l :
        List.of(r.clusters(), r.endpoints(), r.listeners(), r.routes())) {
      for (Message m : l) {
        s += m.getSerializedSize();
      }
    }
    return s;
  }

  /**
   * Pod j serves service j % S as version v(1 + (j / S) % K), like Istio's load-test deployments.
   */
  static ServiceRegistry registry(int services, int subsets, int proxies) {
    List<WorkloadInstance> pods = new ArrayList<>();
    for (int j = 0; j < proxies; j++) {
      int svc = j % services;
      String version = "v" + (1 + (j / services) % subsets);
      String ip = "10." + (j >> 16 & 255) + "." + (j >> 8 & 255) + "." + (j & 255);
      pods.add(
          new WorkloadInstance(
              "svc-" + svc + "-" + version + "-" + j,
              "default",
              ip,
              Map.of("app", "svc-" + svc, "version", version),
              "svc-" + svc + "-" + version,
              List.of(new PodPort("http", 8080, "TCP")),
              true));
    }
    return new ServiceRegistry(pods);
  }

  static String yaml(int services, int subsets, int variant) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < services; i++) {
      sb.append(
          """
          apiVersion: v1
          kind: Service
          metadata:
            name: svc-%1$d
            namespace: default
          spec:
            selector:
              app: svc-%1$d
            ports:
            - name: http
              port: 8080
          ---
          apiVersion: networking.istio.io/v1
          kind: DestinationRule
          metadata:
            name: svc-%1$d
            namespace: default
          spec:
            host: svc-%1$d
            trafficPolicy:
              connectionPool:
                http:
                  maxRequestsPerConnection: 10
            subsets:
          """
              .formatted(i));
      for (int k = 1; k <= subsets; k++) {
        sb.append("  - name: v")
            .append(k)
            .append("\n    labels:\n      version: v")
            .append(k)
            .append('\n');
      }
      sb.append("---\n").append(vsYaml(i, subsets, variant)).append("---\n");
    }
    return sb.toString();
  }

  /**
   * A VirtualService like the walkthrough's: a header match, then weights over the subsets,
   * timeout, retries.
   */
  static String vsYaml(int i, int subsets, int variant) {
    StringBuilder sb =
        new StringBuilder(
            """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: svc-%1$d
          namespace: default
        spec:
          hosts:
          - svc-%1$d
          http:
          - match:
            - headers:
                end-user:
                  exact: jason
            route:
            - destination:
                host: svc-%1$d
                subset: v%2$d
          - route:
        """
                .formatted(i, subsets));
    int left = 100;
    for (int k = 1; k <= subsets; k++) {
      int w =
          k == subsets
              ? left
              : (k == 1 ? 80 - variant * 10 : (100 - 80) / Math.max(1, subsets - 1));
      if (k == subsets) {
        w = left;
      }
      left -= w;
      sb.append("    - destination:\n        host: svc-")
          .append(i)
          .append("\n        subset: v")
          .append(k)
          .append("\n      weight: ")
          .append(w)
          .append('\n');
    }
    sb.append("    timeout: 5s\n    retries:\n      attempts: 3\n      perTryTimeout: 2s\n");
    return sb.toString();
  }

  private static long usedAfterGc() {
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    return MEMORY.getHeapMemoryUsage().getUsed();
  }

  private static double ms(long t0) {
    return (System.nanoTime() - t0) / 1e6;
  }

  private static void out(String key, Object v) {
    System.out.println("translation." + key + "=" + v);
    System.out.flush();
  }
}
