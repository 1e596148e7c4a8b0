package io.shopmesh.mesh.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.istio.api.api.security.v1beta1.AuthorizationPolicyAction;
import io.fabric8.istio.api.networking.v1.DestinationRule;
import io.fabric8.istio.api.networking.v1.Gateway;
import io.fabric8.istio.api.networking.v1.ServiceEntry;
import io.fabric8.istio.api.networking.v1.VirtualService;
import io.fabric8.istio.api.security.v1.AuthorizationPolicy;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.shopmesh.mesh.config.validation.Validator;
import io.shopmesh.mesh.config.yaml.YamlDocument;
import io.shopmesh.mesh.config.yaml.YamlReader;
import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Reads Kubernetes and Istio objects from multi-document YAML files and directories (a directory is
 * read like {@code kubectl apply -f DIR}: its *.yaml, *.yml and *.json files, not recursively),
 * validates them with Istio's rules and keeps the valid ones.
 *
 * <p>Nothing here throws on bad input: a file that is not YAML, a document of an unknown kind or an
 * invalid object each become one {@link Diagnostic} with file and line, and loading goes on.
 */
public final class ConfigLoader {

  public static final String ISTIO_NETWORKING = "networking.istio.io";
  public static final String GATEWAY_API = "gateway.networking.k8s.io";
  public static final String ISTIO_SECURITY = "security.istio.io";

  /** networking.istio.io versions read; v1alpha3 and v1beta1 have the same schema as v1. */
  public static final Set<String> ISTIO_VERSIONS = Set.of("v1alpha3", "v1beta1", "v1");

  /** security.istio.io versions read; v1beta1 has the same schema as v1. */
  public static final Set<String> SECURITY_VERSIONS = Set.of("v1beta1", "v1");

  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();
  private static final Map<String, Class<? extends HasMetadata>> ISTIO_KINDS =
      Map.of(
          "VirtualService", VirtualService.class,
          "DestinationRule", DestinationRule.class,
          "Gateway", Gateway.class,
          "ServiceEntry", ServiceEntry.class);

  /**
   * Kubernetes kinds that are read. Pods, Nodes, Secrets and ServiceAccounts only feed the
   * analyzers, as in istioctl analyze (a Secret's data is never printed); a workload's identity is
   * its pod template's serviceAccountName.
   */
  private static final Set<String> KUBERNETES_KINDS =
      Set.of(
          "v1/Service",
          "apps/v1/Deployment",
          "v1/Namespace",
          "v1/Pod",
          "v1/Node",
          "v1/Secret",
          "v1/ServiceAccount");

  /** Reads, validates and keeps the valid objects of the given files and directories. */
  public LoadResult load(List<Path> paths) {
    List<Diagnostic> diags = new ArrayList<>();
    List<Resource> resources = read(paths, diags);
    return build(resources, diags);
  }

  /** Reads, validates and keeps the valid objects of one YAML text (e.g. a body sent to apply). */
  public LoadResult load(Path name, String yaml) {
    List<Diagnostic> diags = new ArrayList<>();
    List<Resource> resources = parse(name, yaml, diags);
    return build(resources, diags);
  }

  /**
   * Parses files and directories into resources of the kinds this mesh reads; files that cannot be
   * read or parsed and documents of other kinds are reported in {@code diags}. No validation.
   */
  public List<Resource> read(List<Path> paths, List<Diagnostic> diags) {
    return readFiles(paths, diags);
  }

  /**
   * The objects (same group, kind, namespace and name) defined in more than one file: one error per
   * definition, naming every file, in file order. A store (a watched directory, etcd) holds one
   * version of an object; which file should win is not for the loader to guess. (A plain load keeps
   * "the later definition wins", as for {@code manifests/ variants/}: callers that treat a
   * directory as a store ask for this check.)
   */
  public static List<Diagnostic> duplicates(List<Resource> resources) {
    Map<String, List<Resource>> byKey = new LinkedHashMap<>();
    for (Resource r : resources) {
      String key = r.group() + "/" + r.kind() + "/" + r.namespace() + "/" + r.name();
      byKey.computeIfAbsent(key, k -> new ArrayList<>()).add(r);
    }
    List<Diagnostic> out = new ArrayList<>();
    for (List<Resource> same : byKey.values()) {
      if (same.stream().map(r -> r.source().file()).distinct().count() < 2) {
        continue;
      }
      List<String> where = same.stream().map(r -> String.valueOf(r.source())).toList();
      for (Resource r : same) {
        out.add(
            new Diagnostic(
                Diagnostic.Level.ERROR,
                "SM0004",
                r.kind(),
                r.namespace(),
                r.name(),
                r.source(),
                "duplicate "
                    + r.kind()
                    + " "
                    + r.namespace()
                    + "/"
                    + r.name()
                    + ": defined in "
                    + String.join(" and ", where)));
      }
    }
    return out;
  }

  private List<Resource> readFiles(List<Path> paths, List<Diagnostic> diags) {
    List<Resource> out = new ArrayList<>();
    for (Path file : yamlFiles(paths, diags)) {
      String text;
      try {
        text = Files.readString(file);
      } catch (MalformedInputException e) {
        diags.add(error(file, 0, "cannot read file: not UTF-8 text"));
        continue;
      } catch (IOException e) {
        diags.add(error(file, 0, "cannot read file: " + e.getMessage()));
        continue;
      }
      out.addAll(parse(file, text, diags));
    }
    return out;
  }

  /** Parses one YAML text; see {@link #read}. */
  public List<Resource> parse(Path file, String text, List<Diagnostic> diags) {
    List<Resource> out = new ArrayList<>();
    for (YamlReader.Result r : YamlReader.read(file, text)) {
      if (r.error() != null) {
        diags.add(error(file, r.line(), "cannot parse YAML: " + r.error().getMessage()));
        continue;
      }
      Resource res = toResource(r.document(), diags);
      if (res != null) {
        out.add(res);
      }
    }
    return out;
  }

  /**
   * The objects as a cluster would hold them after applying them in order: a later definition of
   * the same kind, namespace and name replaces the earlier one (so {@code manifests/} plus a
   * variant file is the config with the variant applied).
   */
  public static List<Resource> latest(List<Resource> resources) {
    Map<String, Resource> byKey = new LinkedHashMap<>();
    for (Resource r : resources) {
      String key = r.group() + "/" + r.kind() + "/" + r.namespace() + "/" + r.name();
      byKey.remove(key);
      byKey.put(key, r);
    }
    return new ArrayList<>(byKey.values());
  }

  /** Validates resources, converts the valid ones into the model and collects every message. */
  public LoadResult build(List<Resource> all, List<Diagnostic> diagnostics) {
    List<Resource> resources = latest(all);
    List<Diagnostic> diags = new ArrayList<>(diagnostics);
    List<Located<VirtualService>> vs = new ArrayList<>();
    List<Located<DestinationRule>> dr = new ArrayList<>();
    List<Located<Gateway>> gw = new ArrayList<>();
    List<Located<ServiceEntry>> se = new ArrayList<>();
    List<Located<Service>> svc = new ArrayList<>();
    List<Located<Deployment>> dep = new ArrayList<>();
    List<Located<Namespace>> ns = new ArrayList<>();
    List<Located<AuthorizationPolicy>> authz = new ArrayList<>();
    for (Resource r : resources) {
      List<Diagnostic> found = Validator.validate(r);
      diags.addAll(found);
      if (found.stream().anyMatch(d -> d.level() == Diagnostic.Level.ERROR)) {
        continue;
      }
      HasMetadata obj = toModel(r, diags);
      if (obj instanceof VirtualService o) {
        vs.add(new Located<>(o, r.source()));
      } else if (obj instanceof DestinationRule o) {
        dr.add(new Located<>(o, r.source()));
      } else if (obj instanceof Gateway o) {
        gw.add(new Located<>(o, r.source()));
      } else if (obj instanceof ServiceEntry o) {
        se.add(new Located<>(o, r.source()));
      } else if (obj instanceof Service o) {
        svc.add(new Located<>(o, r.source()));
      } else if (obj instanceof Deployment o) {
        dep.add(new Located<>(o, r.source()));
      } else if (obj instanceof Namespace o) {
        ns.add(new Located<>(o, r.source()));
      } else if (obj instanceof AuthorizationPolicy o) {
        authz.add(new Located<>(o, r.source()));
        if (o.getSpec() != null && o.getSpec().getAction() == AuthorizationPolicyAction.CUSTOM) {
          diags.add(
              r.diagnostic(
                  Diagnostic.Level.WARNING,
                  "SM0002",
                  "spec.action",
                  "AuthorizationPolicy action CUSTOM (an external authorizer, ext_authz) is not"
                      + " supported by this mesh; the policy is not enforced"));
        }
      }
    }
    return new LoadResult(new MeshConfig(vs, dr, gw, se, svc, dep, ns, authz), diags);
  }

  private static Resource toResource(YamlDocument doc, List<Diagnostic> diags) {
    SourceRef src = new SourceRef(doc.file(), doc.line(), doc.fieldLines());
    if (!doc.isObject()) {
      diags.add(
          new Diagnostic(
              Diagnostic.Level.ERROR,
              "SM0001",
              null,
              null,
              null,
              src,
              "cannot read object: the document is not a YAML mapping"));
      return null;
    }
    String apiVersion = doc.apiVersion();
    String kind = doc.kind();
    if (apiVersion == null || apiVersion.isEmpty() || kind == null || kind.isEmpty()) {
      diags.add(
          new Diagnostic(
              Diagnostic.Level.ERROR,
              "SM0001",
              kind,
              null,
              doc.name(),
              src,
              "cannot read object: "
                  + (kind == null || kind.isEmpty() ? "kind" : "apiVersion")
                  + " not set"));
      return null;
    }
    int slash = apiVersion.indexOf('/');
    String group = slash < 0 ? "" : apiVersion.substring(0, slash);
    String version = apiVersion.substring(slash + 1);
    boolean istio =
        group.equals(ISTIO_NETWORKING)
            && ISTIO_KINDS.containsKey(kind)
            && ISTIO_VERSIONS.contains(version);
    boolean security =
        group.equals(ISTIO_SECURITY)
            && kind.equals("AuthorizationPolicy")
            && SECURITY_VERSIONS.contains(version);
    istio = istio || security;
    boolean kube = KUBERNETES_KINDS.contains(apiVersion + "/" + kind);
    String ns =
        doc.namespace() == null
            ? (kind.equals("Namespace") || kind.equals("Node")
                ? null
                : MeshConfig.DEFAULT_NAMESPACE)
            : doc.namespace();
    if (group.equals(GATEWAY_API) && kind.equals("Gateway")) {
      // not routed by this mesh, but VirtualServices may name it: the analyzers use it
      diags.add(
          new Diagnostic(
              Diagnostic.Level.WARNING,
              "SM0002",
              kind,
              ns,
              doc.name(),
              src,
              "Kubernetes Gateway API ("
                  + apiVersion
                  + ") is not routed by this mesh; read for analysis only"));
      return new Resource(apiVersion, kind, ns, doc.name(), doc.tree(), src);
    }
    if (group.equals(ISTIO_SECURITY) && kind.equals("RequestAuthentication")) {
      diags.add(
          new Diagnostic(
              Diagnostic.Level.WARNING,
              "SM0002",
              kind,
              ns,
              doc.name(),
              src,
              "RequestAuthentication ("
                  + apiVersion
                  + ") is not enforced by this mesh; read for analysis only"));
      return new Resource(apiVersion, kind, ns, doc.name(), doc.tree(), src);
    }
    if (!istio && !kube) {
      String why =
          group.equals(ISTIO_NETWORKING) && ISTIO_KINDS.containsKey(kind)
              ? "unsupported API version "
                  + apiVersion
                  + " (use networking.istio.io/v1, v1beta1 or v1alpha3), skipped"
              : "unsupported kind " + kind + " (" + apiVersion + "), skipped";
      diags.add(new Diagnostic(Diagnostic.Level.WARNING, "SM0002", kind, ns, doc.name(), src, why));
      return null;
    }
    return new Resource(apiVersion, kind, ns, doc.name(), doc.tree(), src);
  }

  private static HasMetadata toModel(Resource r, List<Diagnostic> diags) {
    if (Set.of("Pod", "Node", "Secret", "ServiceAccount").contains(r.kind())) {
      return null; // analyzers only; not part of MeshConfig
    }
    try {
      JsonNode tree = r.object();
      if (r.group().equals(ISTIO_NETWORKING)) {
        ObjectNode copy = ((ObjectNode) tree).deepCopy();
        copy.put("apiVersion", ISTIO_NETWORKING + "/v1");
        return SERIALIZATION.convertValue(copy, ISTIO_KINDS.get(r.kind()));
      }
      if (r.group().equals(ISTIO_SECURITY) && r.kind().equals("AuthorizationPolicy")) {
        ObjectNode copy = ((ObjectNode) tree).deepCopy();
        copy.put("apiVersion", ISTIO_SECURITY + "/v1");
        return SERIALIZATION.convertValue(copy, AuthorizationPolicy.class);
      }
      return switch (r.kind()) {
        case "Service" -> SERIALIZATION.convertValue(tree, Service.class);
        case "Deployment" -> SERIALIZATION.convertValue(tree, Deployment.class);
        case "Namespace" -> SERIALIZATION.convertValue(tree, Namespace.class);
        default -> null;
      };
    } catch (RuntimeException e) {
      String msg = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
      diags.add(
          r.diagnostic(
              Diagnostic.Level.ERROR, "SM0003", null, "cannot read " + r.kind() + ": " + msg));
      return null;
    }
  }

  private static List<Path> yamlFiles(List<Path> paths, List<Diagnostic> diags) {
    List<Path> out = new ArrayList<>();
    for (Path p : paths) {
      if (Files.isDirectory(p)) {
        try (Stream<Path> s = Files.list(p)) {
          s.filter(f -> Files.isRegularFile(f) && isConfigFile(f)).sorted().forEach(out::add);
        } catch (IOException e) {
          diags.add(error(p, 0, "cannot list directory: " + e.getMessage()));
        }
      } else if (Files.isRegularFile(p)) {
        out.add(p);
      } else {
        diags.add(error(p, 0, "no such file or directory"));
      }
    }
    return out;
  }

  private static boolean isConfigFile(Path f) {
    String n = f.getFileName().toString();
    return n.endsWith(".yaml") || n.endsWith(".yml") || n.endsWith(".json");
  }

  private static Diagnostic error(Path file, int line, String message) {
    return new Diagnostic(
        Diagnostic.Level.ERROR, "SM0001", null, null, null, new SourceRef(file, line), message);
  }
}
