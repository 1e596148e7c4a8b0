package io.shopmesh.mesh.simulation;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.shopmesh.mesh.config.ConfigLoader;
import io.shopmesh.mesh.config.LoadResult;
import io.shopmesh.mesh.config.MeshConfig;
import io.shopmesh.mesh.config.MeshSettings;
import io.shopmesh.mesh.istiod.ConfigStore;
import io.shopmesh.mesh.wire.NodeId;
import io.shopmesh.mesh.xds.PodPort;
import io.shopmesh.mesh.xds.ProxyNode;
import io.shopmesh.mesh.xds.ServiceRegistry;
import io.shopmesh.mesh.xds.WorkloadInstance;
import io.shopmesh.mesh.xds.XdsGenerator;
import io.shopmesh.mesh.xds.XdsResources;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;

/**
 * Istio's traffic simulation cases (pilot's {@code *_simulation_test.go}), re-expressed as data
 * under {@code istio-simulation/}: each case's config is loaded as istiod loads it (the loader,
 * then istiod's {@link ConfigStore} and its push context), translated for the case's proxy by
 * {@link XdsGenerator}, and each call is sent through the resources by {@link Simulation}. Counts
 * every (case, call) check; fails on a disagreement that {@code scope.yaml} does not list as a
 * known difference, and on a listed difference that now agrees.
 */
class IstioSimulationTest {

  static final List<String> FILES =
      List.of("gateway", "sidecar", "serviceentry", "loadbalancer", "peer_authentication");

  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  static final List<String> FIELDS =
      List.of("error", "listener", "filterChain", "routeConfig", "virtualHost", "route", "cluster");

  @Test
  void istioSimulationCases() throws IOException {
    Map<String, Object> scope = read("scope.yaml");
    Map<String, String> known = new LinkedHashMap<>();
    for (Map<String, Object> d : list(scope.get("knownDifferences"))) {
      known.put((String) d.get("check"), d.get("item") + ": " + d.get("reason"));
    }
    List<String> unexpected = new ArrayList<>();
    List<String> nowAgree = new ArrayList<>();
    Set<String> seen = new LinkedHashSet<>();
    int agreeAll = 0;
    int totalAll = 0;
    StringBuilder report = new StringBuilder();
    for (String file : FILES) {
      Map<String, Object> data = read(file + ".yaml");
      Map<String, Object> proxyDefaults = map(data.get("proxy"));
      int agree = 0;
      int total = 0;
      for (Map<String, Object> c : list(data.get("cases"))) {
        String caseName = (String) c.get("name");
        XdsResources resources;
        String setupError = null;
        try {
          resources = generate(c, proxyDefaults);
        } catch (RuntimeException e) {
          resources = null;
          setupError = "translation failed: " + e;
        }
        for (Map<String, Object> call : list(c.get("calls"))) {
          String check = file + ": " + caseName + " / " + call.get("name");
          if (!seen.add(check)) {
            throw new IllegalStateException("duplicate check name " + check);
          }
          total++;
          Map<String, Object> expect = map(call.get("expect"));
          String diff;
          if (resources == null) {
            diff = setupError;
          } else if (call.get("domain") != null) {
            List<String> got =
                new Simulation(resources)
                    .virtualHostClusters(str(call.get("routeConfig")), str(call.get("domain")));
            diff = compareClusters(expect, got);
          } else {
            Simulation.Result got = new Simulation(resources).run(call(call));
            diff = compare(expect, got);
          }
          if (diff == null) {
            agree++;
            if (known.containsKey(check)) {
              nowAgree.add(check);
            }
          } else if (!known.containsKey(check)) {
            unexpected.add(check + ": " + diff);
          }
        }
      }
      int scoped = 0;
      for (Map<String, Object> o : list(scope.get("outOfScope"))) {
        if (file.equals(o.get("file"))) {
          scoped += ((Number) o.get("calls")).intValue();
        }
      }
      report.append(
          String.format(
              "istio simulation %s: %d agree of %d (scoped out: %d calls)%n",
              file, agree, total, scoped));
      agreeAll += agree;
      totalAll += total;
    }
    List<String> stale = new ArrayList<>();
    for (String k : known.keySet()) {
      if (!seen.contains(k)) {
        stale.add(k);
      }
    }
    report.append(String.format("istio simulation: %d agree of %d%n", agreeAll, totalAll));
    report.append("known differences: ").append(known.size()).append('\n');
    report.append("scoped out:\n");
    int scopedCalls = 0;
    for (Map<String, Object> o : list(scope.get("outOfScope"))) {
      int n = ((Number) o.get("calls")).intValue();
      scopedCalls += n;
      report.append(
          String.format(
              "  %s: %s (%d calls): %s%n", o.get("file"), o.get("case"), n, o.get("reason")));
    }
    report.append("scoped out calls: ").append(scopedCalls).append('\n');
    System.out.print(report);
    SoftAssertions soft = new SoftAssertions();
    soft.assertThat(unexpected)
        .as("disagreements not listed as known differences in scope.yaml")
        .isEmpty();
    soft.assertThat(nowAgree)
        .as("known differences in scope.yaml that now agree: remove them")
        .isEmpty();
    soft.assertThat(stale).as("known differences in scope.yaml that name no check").isEmpty();
    soft.assertAll();
  }

  /**
   * A virtual host check (Istio's ExtractVirtualHosts comparison): the clusters of the virtual host
   * with the domain, or {@code absent} when no virtual host may list it.
   */
  static String compareClusters(Map<String, Object> expect, List<String> got) {
    if (Boolean.TRUE.equals(expect.get("absent"))) {
      return got == null ? null : "want no virtual host with the domain, got one to " + got;
    }
    List<String> want = new ArrayList<>();
    for (Object o : (List<?>) expect.get("clusters")) {
      want.add(String.valueOf(o));
    }
    if (got == null) {
      return "want clusters " + want + ", got no virtual host with the domain";
    }
    List<String> shortGot = got.stream().map(IstioSimulationTest::shortDomain).toList();
    return want.equals(got) || want.equals(shortGot)
        ? null
        : "want clusters " + want + " got " + got;
  }

  /** Null when the result has every field the case expects; else what differs. */
  static String compare(Map<String, Object> expect, Simulation.Result got) {
    boolean strict = Boolean.TRUE.equals(expect.get("strict"));
    Map<String, String> actual = got.fields();
    List<String> diffs = new ArrayList<>();
    for (String f : FIELDS) {
      Object want = expect.get(f);
      String w = want == null ? "" : String.valueOf(want);
      // the error is always compared (none expected when absent), other fields when set
      boolean compared = strict || "error".equals(f) || want != null;
      if (compared && !w.equals(actual.get(f)) && !w.equals(shortDomain(actual.get(f)))) {
        diffs.add(f + " want '" + w + "' got '" + actual.get(f) + "'");
      }
    }
    return diffs.isEmpty() ? null : String.join(", ", diffs) + " (result " + actual + ")";
  }

  /**
   * Istio's test config carries no domain, so there a short name resolves to {@code
   * name.namespace}; the mesh resolves it to {@code name.namespace.svc.cluster.local}. Cluster and
   * virtual host names are compared with that suffix taken off.
   */
  static String shortDomain(String name) {
    return name.replace("." + MeshConfig.DOMAIN_SUFFIX, "");
  }

  static Simulation.Call call(Map<String, Object> c) {
    Map<String, String> headers = new LinkedHashMap<>();
    map(c.get("headers")).forEach((k, v) -> headers.put(k, String.valueOf(v)));
    return new Simulation.Call(
        str(c.get("address")),
        ((Number) c.get("port")).intValue(),
        str(c.get("path")),
        c.get("protocol") == null ? "http" : str(c.get("protocol")),
        str(c.get("tls")),
        str(c.get("alpn")),
        str(c.get("host")),
        str(c.get("sni")),
        str(c.get("mode")),
        headers);
  }

  /** Loads the case's config the way istiod does and translates it for the case's proxy. */
  static XdsResources generate(Map<String, Object> c, Map<String, Object> proxyDefaults) {
    String yaml = c.get("config") == null ? "" : (String) c.get("config");
    LoadResult loaded = new ConfigLoader().load(Path.of(c.get("name") + ".yaml"), yaml);
    // istiod's store: objects that fail validation or translation are left out, as istiod serves
    // without them; the checks show the effect
    // the case's mesh config (Istio's MeshConfig, e.g. outboundTrafficPolicy), as istiod reads it
    ConfigStore store = new ConfigStore(MeshSettings.parse((String) c.get("meshConfig")));
    store.update(loaded);
    Map<String, Object> p = new LinkedHashMap<>(proxyDefaults);
    p.putAll(map(c.get("proxy")));
    Map<String, String> labels = new LinkedHashMap<>();
    map(p.get("labels")).forEach((k, v) -> labels.put(k, String.valueOf(v)));
    String ns = p.get("namespace") == null ? "default" : str(p.get("namespace"));
    String ip = p.get("ip") == null ? "1.1.1.1" : str(p.get("ip"));
    List<PodPort> ports = new ArrayList<>();
    for (Map<String, Object> pp : list(p.get("ports"))) {
      ports.add(new PodPort(str(pp.get("name")), ((Number) pp.get("port")).intValue(), "TCP"));
    }
    boolean router = "router".equals(p.get("type"));
    WorkloadInstance w = new WorkloadInstance("app", ns, ip, labels, "app", ports, !router);
    ProxyNode node = router ? ProxyNode.router(w) : ProxyNode.sidecar(w);
    assertThat(node.type()).isEqualTo(router ? NodeId.Type.ROUTER : NodeId.Type.SIDECAR);
    return XdsGenerator.generate(store.pushContext(), new ServiceRegistry(List.of(w)), node);
  }

  static Map<String, Object> read(String name) throws IOException {
    try (InputStream in =
        IstioSimulationTest.class.getResourceAsStream("/istio-simulation/" + name)) {
      if (in == null) {
        throw new IOException("missing resource istio-simulation/" + name);
      }
      return map(YAML.readValue(in, Map.class));
    }
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> map(Object o) {
    return o == null ? Map.of() : (Map<String, Object>) o;
  }

  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> list(Object o) {
    return o == null ? List.of() : (List<Map<String, Object>>) o;
  }

  static String str(Object o) {
    return o == null ? null : String.valueOf(o);
  }
}
