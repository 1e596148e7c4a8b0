package io.shopmesh.mesh.meshctl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.shopmesh.mesh.istiod.inject.SidecarInjector;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code meshctl kube-inject -f FILE}: what {@code istioctl kube-inject} does, offline: every pod
 * template in the file (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod) gets the
 * same sidecar the mutating webhook would add; other objects pass through unchanged.
 */
@Command(
    name = "kube-inject",
    mixinStandardHelpOptions = true,
    description = {
      "Adds the sidecar to Kubernetes workloads offline, like istioctl kube-inject.",
      "A pod template with sidecar.istio.io/inject: \"false\" is left alone."
    })
public final class KubeInjectCommand implements Callable<Integer> {

  private static final Set<String> TEMPLATED =
      Set.of("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final YAMLMapper YAML =
      YAMLMapper.builder(
              YAMLFactory.builder()
                  .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                  .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
                  .build())
          .build();

  @Option(
      names = {"-f", "--filename"},
      required = true,
      paramLabel = "FILE",
      description = "Kubernetes YAML to inject into (- for stdin).")
  String file;

  @Option(
      names = {"-o", "--output"},
      paramLabel = "FILE",
      description = "Where to write the result (default: stdout).")
  Path output;

  @Option(
      names = "--proxy-image",
      defaultValue = "shopmesh/proxyv2:latest",
      description = "The sidecar and istio-init image (default: ${DEFAULT-VALUE}).")
  String proxyImage;

  @Option(
      names = "--istiod",
      defaultValue = "istiod.istio-system.svc:15010",
      description = "istiod's xDS address the sidecars dial (default: ${DEFAULT-VALUE}).")
  String istiod;

  @Override
  public Integer call() throws IOException {
    String text;
    if ("-".equals(file)) {
      try (InputStream in = System.in) {
        text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
    } else {
      text = Files.readString(Path.of(file));
    }
    String out =
        inject(
            text,
            new SidecarInjector(new SidecarInjector.Settings(proxyImage, istiod, "Kubernetes")));
    if (output != null) {
      Files.writeString(output, out);
    } else {
      System.out.print(out);
    }
    return 0;
  }

  /** The documents of {@code yaml} with every pod template injected, as multi-document YAML. */
  public static String inject(String yaml, SidecarInjector injector) throws IOException {
    List<JsonNode> docs = new ArrayList<>();
    try (var parser = YAML.getFactory().createParser(yaml)) {
      var it = YAML.readValues(parser, JsonNode.class);
      while (it.hasNext()) {
        JsonNode doc = it.next();
        if (doc != null && !doc.isNull() && !doc.isMissingNode()) {
          docs.add(doc);
        }
      }
    }
    StringBuilder b = new StringBuilder();
    for (JsonNode doc : docs) {
      if (b.length() > 0) {
        b.append("---\n");
      }
      b.append(YAML.writeValueAsString(injectOne(doc, injector)));
    }
    return b.toString();
  }

  private static JsonNode injectOne(JsonNode doc, SidecarInjector injector) {
    if (!doc.isObject()) {
      return doc;
    }
    String kind = doc.path("kind").asText("");
    String name = doc.path("metadata").path("name").asText("");
    String ns = doc.path("metadata").path("namespace").asText("default");
    ObjectNode holder;
    String field;
    if (TEMPLATED.contains(kind)) {
      holder = (ObjectNode) doc.path("spec");
      field = "template";
    } else if (kind.equals("CronJob")) {
      holder = (ObjectNode) doc.path("spec").path("jobTemplate").path("spec");
      field = "template";
    } else if (kind.equals("Pod")) {
      ObjectNode pod = (ObjectNode) doc;
      injectTemplate(pod, injector, ns, name);
      return pod;
    } else {
      return doc;
    }
    if (holder.path(field).isObject()) {
      injectTemplate((ObjectNode) holder.path(field), injector, ns, name);
    }
    return doc;
  }

  private static void injectTemplate(
      ObjectNode template, SidecarInjector injector, String ns, String workload) {
    ObjectMeta meta =
        template.has("metadata")
            ? JSON.convertValue(template.get("metadata"), ObjectMeta.class)
            : new ObjectMeta();
    PodSpec spec = JSON.convertValue(template.get("spec"), PodSpec.class);
    if (!SidecarInjector.wanted(meta, spec, Map.of(SidecarInjector.NAMESPACE_LABEL, "enabled"))) {
      return;
    }
    injector.inject(meta, spec, ns, workload);
    template.set("metadata", JSON.valueToTree(meta));
    template.set("spec", JSON.valueToTree(spec));
  }
}
