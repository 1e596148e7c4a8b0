package io.shopmesh.mesh.istiod.webhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionRequest;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponse;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponseBuilder;
import io.shopmesh.mesh.config.ConfigLoader;
import io.shopmesh.mesh.config.validation.IstioValidator;
import io.shopmesh.mesh.config.validation.SchemaValidator;
import io.shopmesh.mesh.config.validation.Violation;
import io.shopmesh.mesh.istiod.inject.SidecarInjector;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * What istiod answers to the API server's AdmissionReview calls: {@code /validate} (Istio's {@code
 * validation.istio.io}: the CRD schema and Istio's semantic checks, with Istio's messages) and
 * {@code /inject} (the sidecar injector, as a JSON patch).
 */
public final class AdmissionWebhooks {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final SidecarInjector injector;

  public AdmissionWebhooks(SidecarInjector injector) {
    this.injector = injector;
  }

  /** Istio's validating webhook: only networking.istio.io objects; deletes are always allowed. */
  public AdmissionResponse validate(AdmissionRequest req) {
    AdmissionResponseBuilder ok =
        new AdmissionResponseBuilder().withUid(req.getUid()).withAllowed(true);
    if ("DELETE".equals(req.getOperation()) || req.getObject() == null) {
      return ok.build();
    }
    JsonNode obj = JSON.valueToTree(req.getObject());
    String apiVersion = obj.path("apiVersion").asText("");
    String kind = obj.path("kind").asText("");
    if (!apiVersion.startsWith(ConfigLoader.ISTIO_NETWORKING + "/")
        || !SchemaValidator.supports(kind)) {
      return ok.build();
    }
    if (!obj.path("metadata").path("namespace").isTextual() && req.getNamespace() != null) {
      ((ObjectNode) obj.path("metadata")).put("namespace", req.getNamespace());
    }
    List<Violation> found = new ArrayList<>(SchemaValidator.validate(kind, obj));
    if (found.stream().noneMatch(Violation::isError)) {
      found.addAll(IstioValidator.validate(kind, obj));
    }
    List<String> errors = found.stream().filter(Violation::isError).map(Violation::text).toList();
    List<String> warnings = found.stream().filter(v -> !v.isError()).map(Violation::text).toList();
    if (!errors.isEmpty()) {
      return new AdmissionResponseBuilder()
          .withUid(req.getUid())
          .withAllowed(false)
          .withStatus(
              new StatusBuilder()
                  .withMessage("configuration is invalid: " + multiError(errors))
                  .build())
          .withWarnings(warnings.isEmpty() ? null : warnings)
          .build();
    }
    return ok.withWarnings(warnings.isEmpty() ? null : warnings).build();
  }

  /**
   * The sidecar injector. The webhook configuration's namespace and object selectors decide which
   * pods are sent here (as Istio's {@code namespace.sidecar-injector.istio.io} and {@code
   * object.sidecar-injector.istio.io}); the pod's own opt-out is honoured here.
   */
  public AdmissionResponse inject(AdmissionRequest req) {
    AdmissionResponseBuilder ok =
        new AdmissionResponseBuilder().withUid(req.getUid()).withAllowed(true);
    if (req.getObject() == null || !"CREATE".equals(req.getOperation())) {
      return ok.build();
    }
    Pod pod = JSON.convertValue(req.getObject(), Pod.class);
    ObjectMeta meta = pod.getMetadata() != null ? pod.getMetadata() : new ObjectMeta();
    if (!SidecarInjector.wanted(
        meta, pod.getSpec(), Map.of(SidecarInjector.NAMESPACE_LABEL, "enabled"))) {
      return ok.build();
    }
    String ns = meta.getNamespace() != null ? meta.getNamespace() : req.getNamespace();
    try {
      injector.inject(meta, pod.getSpec(), ns == null ? "default" : ns, workloadName(meta));
    } catch (IllegalArgumentException e) {
      return new AdmissionResponseBuilder()
          .withUid(req.getUid())
          .withAllowed(false)
          .withStatus(
              new StatusBuilder().withMessage("injection failed: " + e.getMessage()).build())
          .build();
    }
    ArrayNode patch = JSON.createArrayNode();
    patch.add(op("/metadata/labels", JSON.valueToTree(meta.getLabels())));
    patch.add(op("/metadata/annotations", JSON.valueToTree(meta.getAnnotations())));
    patch.add(op("/spec", JSON.valueToTree(pod.getSpec())));
    return ok.withPatchType("JSONPatch")
        .withPatch(
            Base64.getEncoder().encodeToString(patch.toString().getBytes(StandardCharsets.UTF_8)))
        .build();
  }

  /**
   * The Deployment behind a pod, as Istio names the workload: a ReplicaSet owner without its {@code
   * -<pod-template-hash>} suffix, else the owner's name, else the pod's generateName.
   */
  static String workloadName(ObjectMeta meta) {
    String hash = meta.getLabels() == null ? null : meta.getLabels().get("pod-template-hash");
    if (meta.getOwnerReferences() != null) {
      for (OwnerReference o : meta.getOwnerReferences()) {
        String name = o.getName();
        if ("ReplicaSet".equals(o.getKind()) && hash != null && name.endsWith("-" + hash)) {
          return name.substring(0, name.length() - hash.length() - 1);
        }
        if (Boolean.TRUE.equals(o.getController())) {
          return name;
        }
      }
    }
    if (meta.getGenerateName() != null && !meta.getGenerateName().isEmpty()) {
      String g = meta.getGenerateName().replaceAll("-$", "");
      return hash != null && g.endsWith("-" + hash)
          ? g.substring(0, g.length() - hash.length() - 1)
          : g;
    }
    return meta.getName();
  }

  private static ObjectNode op(String path, JsonNode value) {
    ObjectNode o = JSON.createObjectNode();
    o.put("op", "add"); // "add" of an existing member replaces it (RFC 6902)
    o.put("path", path);
    o.set("value", value);
    return o;
  }

  /** Istio's multierror form: one error as itself, several as a list. */
  static String multiError(List<String> errors) {
    if (errors.size() == 1) {
      return errors.get(0);
    }
    StringBuilder b = new StringBuilder(errors.size() + " errors occurred:");
    for (String e : errors) {
      b.append("\n\t* ").append(e);
    }
    return b.toString();
  }
}
