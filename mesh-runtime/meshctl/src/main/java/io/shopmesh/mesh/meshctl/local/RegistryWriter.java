package io.shopmesh.mesh.meshctl.local;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.shopmesh.mesh.meshctl.local.MeshPlan.Kind;
import io.shopmesh.mesh.meshctl.local.MeshPlan.Pod;
import io.shopmesh.mesh.meshctl.local.MeshPlan.PortMapping;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * istiod's service registry, from the source of truth: the pods this mesh planned from the
 * manifests, with their readiness, written as JSON for istiod's {@code --registry-file} (temp file
 * and rename, so istiod never reads half a file). As Istio builds endpoints from ready
 * EndpointSlice addresses, only ready pods become endpoints; a pod whose proxy merely lost istiod
 * stays in the registry.
 */
public final class RegistryWriter {

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final MeshPlan plan;
  private final Path file;
  private final String source;
  private final Map<String, String> tokenHashes;
  private String last;

  public RegistryWriter(MeshPlan plan, Path file, String source) {
    this(plan, file, source, Map.of());
  }

  /**
   * @param tokenHashes pod name to the SHA-256 hex of the token its proxy presents to istiod
   */
  public RegistryWriter(MeshPlan plan, Path file, String source, Map<String, String> tokenHashes) {
    this.plan = plan;
    this.file = file;
    this.source = source;
    this.tokenHashes = Map.copyOf(tokenHashes);
  }

  public Path file() {
    return file;
  }

  /** Writes the registry when it differs from what was last written; true if it wrote. */
  public synchronized boolean write(Map<String, Boolean> readyByPod) {
    String text = json(plan, readyByPod, source, Pod::ip, false, tokenHashes);
    if (text.equals(last)) {
      return false;
    }
    try {
      Files.createDirectories(file.getParent());
      Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
      Files.writeString(tmp, text);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      last = text;
      return true;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the registry " + file, e);
    }
  }

  /** The registry file's text: every pod in the mesh (gateway and workloads), with readiness. */
  public static String json(MeshPlan plan, Map<String, Boolean> readyByPod, String source) {
    return json(plan, readyByPod, source, Pod::ip, false);
  }

  /**
   * @param ipOf the pod's address on the platform (compose gives other addresses than local)
   * @param probe instead of {@code ready}, ask istiod to probe the pod's first port (tcpSocket)
   */
  public static String json(
      MeshPlan plan,
      Map<String, Boolean> readyByPod,
      String source,
      Function<Pod, String> ipOf,
      boolean probe) {
    return json(plan, readyByPod, source, ipOf, probe, Map.of());
  }

  /** As above, with each pod's {@code tokenSha256}: istiod then admits only those tokens. */
  public static String json(
      MeshPlan plan,
      Map<String, Boolean> readyByPod,
      String source,
      Function<Pod, String> ipOf,
      boolean probe,
      Map<String, String> tokenHashes) {
    List<Map<String, Object>> pods = new ArrayList<>();
    for (Pod p : plan.pods()) {
      if (p.kind() == Kind.EXTERNAL) {
        continue;
      }
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", p.name());
      m.put("namespace", p.namespace());
      m.put("ip", ipOf.apply(p));
      m.put("workload", p.workload());
      m.put("labels", new TreeMap<>(p.labels()));
      List<Map<String, Object>> ports = new ArrayList<>();
      List<PortMapping> pm =
          p.kind() == Kind.GATEWAY ? p.containers().get(0).ports() : p.appPorts();
      for (PortMapping port : pm) {
        Map<String, Object> one = new LinkedHashMap<>();
        one.put("containerPort", port.containerPort());
        one.put("protocol", "TCP");
        ports.add(one);
      }
      m.put("ports", ports);
      m.put("sidecar", p.kind() == Kind.WORKLOAD);
      m.put("serviceAccount", p.serviceAccount());
      if (tokenHashes.containsKey(p.name())) {
        m.put("tokenSha256", tokenHashes.get(p.name()));
      }
      if (probe && !pm.isEmpty()) {
        m.put("probe", Map.of("tcpPort", pm.get(0).containerPort()));
      } else {
        m.put("ready", readyByPod.getOrDefault(p.name(), false));
      }
      pods.add(m);
    }
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("source", source);
    root.put("pods", pods);
    try {
      return JSON.writeValueAsString(root) + "\n";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
