package io.shopmesh.mesh.meshctl;

import io.shopmesh.mesh.meshctl.kube.KubeMesh;
import io.shopmesh.mesh.meshctl.kube.KubeOptions;
import io.shopmesh.mesh.meshctl.local.Http;
import io.shopmesh.mesh.meshctl.local.MeshState;
import io.shopmesh.mesh.meshctl.prom.PromText;
import io.shopmesh.mesh.meshctl.prom.Selector;
import io.shopmesh.mesh.meshctl.render.Table;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code meshctl metrics QUERY}: a PromQL selector summed over every proxy's :15090, like
 * Prometheus would.
 */
@Command(
    name = "metrics",
    mixinStandardHelpOptions = true,
    description = {
      "Scrapes every proxy's /stats/prometheus (port 15090) and sums the samples a PromQL selector",
      "picks, e.g. 'istio_requests_total{destination_service=\"product-service.default.svc.cluster.local\"}'",
      "--by destination_version: the walkthrough's Prometheus query without a Prometheus."
    })
public final class MetricsCommand implements Callable<Integer> {

  @Parameters(index = "0", paramLabel = "QUERY", description = "metric{label=\"value\",...}")
  String query;

  @Option(
      names = "--by",
      split = ",",
      paramLabel = "LABEL",
      description = "Sum by these labels, like sum by (...).")
  List<String> by;

  @Option(names = "--pod", paramLabel = "POD", description = "Only this pod's proxy.")
  String pod;

  @Mixin MeshOptions mesh;

  @Mixin KubeOptions kube;

  @Override
  public Integer call() {
    Selector sel;
    try {
      sel = Selector.parse(query);
    } catch (IllegalArgumentException e) {
      throw new MeshctlException("bad query: " + e.getMessage(), 2);
    }
    List<PromText.Sample> samples;
    if (kube.kube) {
      try (KubeMesh km = kube.connect()) {
        samples = scrape(km, pod == null ? null : km.pod(pod).name());
      }
    } else {
      MeshState st = mesh.requireRunning();
      samples = scrape(st, pod == null ? null : mesh.requirePod(st, pod).name());
    }
    if (by == null || by.isEmpty()) {
      System.out.println(format(sel.sum(samples)));
      return 0;
    }
    Map<List<String>, Double> sums = sel.sumBy(samples, by);
    List<String> headers =
        new ArrayList<>(by.stream().map(s -> s.toUpperCase(Locale.ROOT)).toList());
    headers.add("VALUE");
    Table t = new Table(headers.toArray(String[]::new));
    sums.forEach(
        (k, v) -> {
          List<Object> cells = new ArrayList<>(k);
          cells.add(format(v));
          t.row(cells.toArray());
        });
    System.out.print(t.render());
    return 0;
  }

  /** Every proxy's samples (sidecars and the gateway); a proxy that does not answer is skipped. */
  public static List<PromText.Sample> scrape(MeshState st, String onlyPod) {
    List<PromText.Sample> all = new ArrayList<>();
    for (MeshState.PodState p : st.pods()) {
      if (!p.hasProxy() || (onlyPod != null && !onlyPod.equals(p.name()))) {
        continue;
      }
      try {
        Http.Response r =
            Http.get("http://" + p.ip() + ":15090/stats/prometheus", Duration.ofSeconds(5));
        if (r.ok()) {
          all.addAll(PromText.parse(r.body()));
        }
      } catch (IOException e) {
        System.err.println("meshctl: " + p.name() + ": " + e.getMessage());
      }
    }
    return all;
  }

  /** The same over a cluster: each proxy's 15090 through the API server. */
  public static List<PromText.Sample> scrape(KubeMesh km, String onlyPod) {
    List<PromText.Sample> all = new ArrayList<>();
    for (KubeMesh.MeshPod p : km.pods()) {
      if (onlyPod != null && !onlyPod.equals(p.name())) {
        continue;
      }
      try {
        all.addAll(PromText.parse(km.podGet(p, 15090, "/stats/prometheus")));
      } catch (MeshctlException e) {
        System.err.println("meshctl: " + p.name() + "." + p.namespace() + ": " + e.getMessage());
      }
    }
    return all;
  }

  static String format(double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15
        ? Long.toString((long) v)
        : String.format(Locale.ROOT, "%.3f", v);
  }

  static List<String> split(String s) {
    return Arrays.asList(s.split(","));
  }
}
