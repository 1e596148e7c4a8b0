package io.shopmesh.mesh.istiod.inject;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Capabilities;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.SecurityContextBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * Adds the mesh to a pod as Istio's sidecar injector does (the {@code sidecar} template of {@code
 * istio-sidecar-injector}): the {@code istio-init} init container that installs the iptables
 * redirect (the same script as in compose), and the {@code istio-proxy} container with the
 * environment Istio's template gives it. Used by the mutating webhook and by {@code meshctl
 * kube-inject}; both work on a pod's metadata and spec (a Pod, or a Deployment's template).
 *
 * <p>As with {@code holdApplicationUntilProxyStarts}, the proxy is the first container and its
 * postStart hook waits for {@code /healthz/ready}, so apps start with a ready sidecar (the
 * walkthrough's apps call other services at start).
 */
public final class SidecarInjector {

  public static final String INJECT = "sidecar.istio.io/inject";
  public static final String STATUS = "sidecar.istio.io/status";
  public static final String NAMESPACE_LABEL = "istio-injection";
  public static final String USER_VOLUME = "sidecar.istio.io/userVolume";
  public static final String USER_VOLUME_MOUNT = "sidecar.istio.io/userVolumeMount";
  public static final String PROXY = "istio-proxy";
  public static final String INIT = "istio-init";
  static final long PROXY_UID = 1337;

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Where the injected containers come from and what they dial. */
  public record Settings(String proxyImage, String istiodAddress, String clusterId) {
    public static Settings defaults() {
      return new Settings("shopmesh/proxyv2:latest", "istiod.istio-system.svc:15010", "Kubernetes");
    }
  }

  private final Settings settings;

  public SidecarInjector(Settings settings) {
    this.settings = settings;
  }

  /**
   * Istio's injection policy: a pod that says {@code sidecar.istio.io/inject: "false"} (label or
   * annotation) never gets one; otherwise a namespace labelled {@code istio-injection=enabled}, or
   * the pod's own {@code sidecar.istio.io/inject: "true"} label, asks for one. Host-network pods
   * and pods already injected are left alone.
   */
  public static boolean wanted(ObjectMeta pod, PodSpec spec, Map<String, String> namespaceLabels) {
    if (spec == null || Boolean.TRUE.equals(spec.getHostNetwork()) || injected(pod)) {
      return false;
    }
    String podSays = value(pod.getLabels(), INJECT);
    if (podSays == null) {
      podSays = value(pod.getAnnotations(), INJECT);
    }
    if ("false".equalsIgnoreCase(podSays)) {
      return false;
    }
    String ns = value(namespaceLabels, NAMESPACE_LABEL);
    if ("disabled".equals(ns)) {
      return false;
    }
    return "enabled".equals(ns) || "true".equalsIgnoreCase(value(pod.getLabels(), INJECT));
  }

  public static boolean injected(ObjectMeta pod) {
    return value(pod.getAnnotations(), STATUS) != null;
  }

  /**
   * Injects into {@code meta} and {@code spec} in place. {@code workloadName} is the owning
   * Deployment's name (Istio derives it from the pod's owner).
   */
  public void inject(ObjectMeta meta, PodSpec spec, String namespace, String workloadName) {
    List<Container> apps = new ArrayList<>(spec.getContainers());
    List<Container> init = new ArrayList<>();
    init.add(initContainer());
    if (spec.getInitContainers() != null) {
      init.addAll(spec.getInitContainers());
    }
    spec.setInitContainers(init);
    List<Container> containers = new ArrayList<>();
    containers.add(proxyContainer(meta, spec, apps, namespace, workloadName));
    containers.addAll(apps);
    spec.setContainers(containers);
    List<Volume> userVolumes = userVolumes(meta);
    if (!userVolumes.isEmpty()) {
      List<Volume> volumes =
          new ArrayList<>(spec.getVolumes() == null ? List.of() : spec.getVolumes());
      volumes.addAll(userVolumes);
      spec.setVolumes(volumes);
    }

    Map<String, String> labels = new LinkedHashMap<>(orEmpty(meta.getLabels()));
    labels.putIfAbsent("security.istio.io/tlsMode", "istio");
    labels.putIfAbsent("service.istio.io/canonical-name", canonicalName(labels, workloadName));
    labels.putIfAbsent(
        "service.istio.io/canonical-revision", labels.getOrDefault("version", "latest"));
    meta.setLabels(labels);
    Map<String, String> annotations = new LinkedHashMap<>(orEmpty(meta.getAnnotations()));
    annotations.putIfAbsent("kubectl.kubernetes.io/default-container", apps.get(0).getName());
    annotations.put(STATUS, status(userVolumes));
    meta.setAnnotations(annotations);
  }

  private Container initContainer() {
    return new ContainerBuilder()
        .withName(INIT)
        .withImage(settings.proxyImage())
        .withCommand("/usr/local/bin/istio-iptables.sh")
        .withEnv(
            env("PROXY_UID", String.valueOf(PROXY_UID)),
            env("PROXY_GID", String.valueOf(PROXY_UID)),
            env("PROXY_PORT", "15001"),
            env("INBOUND_CAPTURE_PORT", "15006"),
            env("INBOUND_PORTS_EXCLUDE", "15000:15099,22"))
        .withSecurityContext(
            new SecurityContextBuilder()
                .withCapabilities(new Capabilities(List.of("NET_ADMIN", "NET_RAW"), List.of("ALL")))
                .withRunAsUser(0L)
                .withRunAsGroup(0L)
                .withRunAsNonRoot(false)
                .withPrivileged(false)
                .withAllowPrivilegeEscalation(false)
                .build())
        .build();
  }

  private Container proxyContainer(
      ObjectMeta meta, PodSpec spec, List<Container> apps, String namespace, String workload) {
    StringJoiner ports = new StringJoiner(",");
    StringJoiner names = new StringJoiner(",");
    for (Container c : apps) {
      names.add(c.getName());
      if (c.getPorts() != null) {
        for (ContainerPort p : c.getPorts()) {
          if (p.getProtocol() == null || "TCP".equals(p.getProtocol())) {
            ports.add((p.getName() != null ? p.getName() + ":" : "") + p.getContainerPort());
          }
        }
      }
    }
    String sa = spec.getServiceAccountName() != null ? spec.getServiceAccountName() : "default";
    List<EnvVar> env = new ArrayList<>();
    env.add(fieldRef("POD_NAME", "metadata.name"));
    env.add(fieldRef("POD_NAMESPACE", "metadata.namespace"));
    env.add(fieldRef("INSTANCE_IP", "status.podIP"));
    env.add(fieldRef("SERVICE_ACCOUNT", "spec.serviceAccountName"));
    env.add(fieldRef("HOST_IP", "status.hostIP"));
    env.add(env("PROXY_ROLE", "sidecar"));
    env.add(env("ISTIOD_ADDRESS", settings.istiodAddress()));
    env.add(env("PROXY_BIND", "0.0.0.0"));
    env.add(env("ISTIO_META_INTERCEPTION_MODE", "REDIRECT"));
    env.add(env("ISTIO_META_WORKLOAD_NAME", workload));
    env.add(env("ISTIO_META_LABELS", labels(meta)));
    env.add(env("ISTIO_META_POD_PORTS_LIST", ports.toString()));
    env.add(env("ISTIO_META_APP_CONTAINERS", names.toString()));
    env.add(env("ISTIO_META_CLUSTER_ID", settings.clusterId()));
    env.add(env("ISTIO_META_MESH_ID", "cluster.local"));
    env.add(
        env(
            "ISTIO_META_OWNER",
            "kubernetes://apis/apps/v1/namespaces/" + namespace + "/deployments/" + workload));
    env.add(env("ACCESS_LOG", "-"));
    env.add(
        env(
            "JAVA_TOOL_OPTIONS",
            "-Xms16m -Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss512k"
                + " -XX:ReservedCodeCacheSize=48m -Djava.net.preferIPv4Stack=true"));
    List<VolumeMount> mounts = userVolumeMounts(meta);
    ContainerBuilder b =
        new ContainerBuilder()
            .withName(PROXY)
            .withImage(settings.proxyImage())
            .withEnv(env)
            .addNewPort()
            .withName("http-envoy-prom")
            .withContainerPort(15090)
            .withProtocol("TCP")
            .endPort()
            .withNewReadinessProbe()
            .withNewHttpGet()
            .withPath("/healthz/ready")
            .withNewPort(15021)
            .endHttpGet()
            .withPeriodSeconds(2)
            .withFailureThreshold(30)
            .withTimeoutSeconds(3)
            .endReadinessProbe()
            .withNewLifecycle()
            .withNewPostStart()
            .withNewExec()
            .withCommand(
                "sh",
                "-c",
                "until curl -fsS -o /dev/null http://127.0.0.1:15021/healthz/ready;"
                    + " do sleep 0.5; done")
            .endExec()
            .endPostStart()
            .endLifecycle()
            .withNewResources()
            .addToRequests("cpu", new Quantity("10m"))
            .addToRequests("memory", new Quantity("128Mi"))
            .endResources()
            .withSecurityContext(
                new SecurityContextBuilder()
                    .withRunAsUser(PROXY_UID)
                    .withRunAsGroup(PROXY_UID)
                    .withRunAsNonRoot(true)
                    .withAllowPrivilegeEscalation(false)
                    .withPrivileged(false)
                    .withCapabilities(new Capabilities(List.of(), List.of("ALL")))
                    .build());
    if (!mounts.isEmpty()) {
      b.withVolumeMounts(mounts);
    }
    if (!"default".equals(sa)) {
      b.addToEnv(env("ISTIO_META_SERVICE_ACCOUNT", sa));
    }
    return b.build();
  }

  /** Istio's {@code sidecar.istio.io/userVolume}: a JSON map of volume name to volume source. */
  private static List<Volume> userVolumes(ObjectMeta meta) {
    Map<String, Map<String, Object>> given = jsonMap(meta, USER_VOLUME);
    List<Volume> out = new ArrayList<>();
    for (Map.Entry<String, Map<String, Object>> e : given.entrySet()) {
      Map<String, Object> v = new LinkedHashMap<>(e.getValue());
      v.put("name", e.getKey());
      out.add(JSON.convertValue(v, Volume.class));
    }
    return out;
  }

  private static List<VolumeMount> userVolumeMounts(ObjectMeta meta) {
    Map<String, Map<String, Object>> given = jsonMap(meta, USER_VOLUME_MOUNT);
    List<VolumeMount> out = new ArrayList<>();
    for (Map.Entry<String, Map<String, Object>> e : given.entrySet()) {
      Map<String, Object> v = new LinkedHashMap<>(e.getValue());
      v.put("name", e.getKey());
      out.add(JSON.convertValue(v, VolumeMount.class));
    }
    return out;
  }

  private static Map<String, Map<String, Object>> jsonMap(ObjectMeta meta, String annotation) {
    String text = value(meta.getAnnotations(), annotation);
    if (text == null || text.isBlank()) {
      return Map.of();
    }
    try {
      return JSON.readValue(
          text, new TypeReference<LinkedHashMap<String, Map<String, Object>>>() {});
    } catch (Exception e) {
      throw new IllegalArgumentException(
          "annotation " + annotation + " is not a JSON map of name to object: " + e.getMessage());
    }
  }

  private static String status(List<Volume> userVolumes) {
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("initContainers", List.of(INIT));
    s.put("containers", List.of(PROXY));
    s.put("volumes", userVolumes.stream().map(Volume::getName).toList());
    s.put("imagePullSecrets", null);
    s.put("revision", "default");
    try {
      return JSON.writeValueAsString(s);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static String labels(ObjectMeta meta) {
    StringJoiner j = new StringJoiner(",");
    orEmpty(meta.getLabels()).forEach((k, v) -> j.add(k + "=" + v));
    return j.toString();
  }

  private static String canonicalName(Map<String, String> labels, String workload) {
    if (labels.containsKey("app.kubernetes.io/name")) {
      return labels.get("app.kubernetes.io/name");
    }
    return labels.getOrDefault("app", workload);
  }

  private static EnvVar env(String name, String value) {
    return new EnvVarBuilder().withName(name).withValue(value).build();
  }

  private static EnvVar fieldRef(String name, String path) {
    return new EnvVarBuilder()
        .withName(name)
        .withNewValueFrom()
        .withNewFieldRef()
        .withApiVersion("v1")
        .withFieldPath(path)
        .endFieldRef()
        .endValueFrom()
        .build();
  }

  private static String value(Map<String, String> m, String key) {
    return m == null ? null : m.get(key);
  }

  private static Map<String, String> orEmpty(Map<String, String> m) {
    return m == null ? Map.of() : m;
  }
}
