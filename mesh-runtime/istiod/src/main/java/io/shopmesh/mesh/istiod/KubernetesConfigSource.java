package io.shopmesh.mesh.istiod;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.Informable;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.shopmesh.mesh.config.ConfigLoader;
import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.config.LoadResult;
import io.shopmesh.mesh.config.Resource;
import io.shopmesh.mesh.config.SourceRef;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * Istio's networking objects (VirtualService, DestinationRule, Gateway, ServiceEntry) and the
 * Services, read from the Kubernetes API with informers (list, then watch from the list's
 * resourceVersion; a watch that drops is resumed by the informer, which lists again only when the
 * API server says the version is too old), as istiod's kube config controller does.
 *
 * <p>Each object goes through the same validation as a file ({@link ConfigLoader#build}); its
 * source is {@code kubernetes:/<Kind>/<namespace>/<name>} (the path of a {@link SourceRef}), so an
 * error names the object. An object is validated again only when its resourceVersion changed. An
 * invalid object is left out of the load with its diagnostic, so {@link ConfigStore} keeps its last
 * good version. Of the networking.istio.io versions, the one the CRD serves with the highest
 * priority (v1, then v1beta1, then v1alpha3) is watched; the API server converts every object to
 * it.
 */
public final class KubernetesConfigSource implements ConfigSource {

  private static final Logger LOG = Logger.getLogger(KubernetesConfigSource.class.getName());

  /** The Istio kinds read, with their plural resource names. */
  static final Map<String, String> ISTIO_KINDS = istioKinds();

  /** Versions in Kubernetes' priority order: GA before beta before alpha. */
  static final List<String> VERSION_PRIORITY = List.of("v1", "v1beta1", "v1alpha3");

  /** How long the first load waits for the informers' initial lists before it logs again. */
  private static final long SYNC_LOG_MS = 10_000;

  private final KubernetesClient client;
  private final String namespace;
  private final long resyncMillis;
  private final KubernetesSerialization serialization;
  private final List<SharedIndexInformer<? extends HasMetadata>> informers = new ArrayList<>();
  // each informer's kind and apiVersion: list responses may leave them out of their items
  private final Map<SharedIndexInformer<? extends HasMetadata>, String[]> types =
      new IdentityHashMap<>();
  private final Map<String, Validated> cache = new HashMap<>();
  private volatile Runnable onChange = () -> {};
  private volatile boolean closed;
  // an event arrived since the last load began (before start, nobody is told yet)
  private volatile boolean dirty;
  private int lastValidated;
  private long loads;

  /** One object's last validation, kept while its resourceVersion is the same. */
  private record Validated(String resourceVersion, LoadResult result) {}

  /**
   * @param namespace the namespace to watch, or null for all namespaces
   * @param resyncMillis the informers' resync period (0: none); a resync that finds no new
   *     resourceVersion triggers nothing
   */
  public KubernetesConfigSource(KubernetesClient client, String namespace, long resyncMillis) {
    this.client = client;
    this.namespace = namespace;
    this.resyncMillis = resyncMillis;
    this.serialization = client.getKubernetesSerialization();
  }

  private static Map<String, String> istioKinds() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("VirtualService", "virtualservices");
    m.put("DestinationRule", "destinationrules");
    m.put("Gateway", "gateways");
    m.put("ServiceEntry", "serviceentries");
    return m;
  }

  /** The watched version of an Istio kind, from its CRD; v1 when the CRD cannot be read. */
  String servedVersion(String plural) {
    String crd = plural + "." + ConfigLoader.ISTIO_NETWORKING;
    try {
      CustomResourceDefinition d =
          client.apiextensions().v1().customResourceDefinitions().withName(crd).get();
      if (d == null) {
        LOG.warning("CRD " + crd + " not found; watching " + VERSION_PRIORITY.get(0));
        return VERSION_PRIORITY.get(0);
      }
      List<String> served = new ArrayList<>();
      for (CustomResourceDefinitionVersion v : d.getSpec().getVersions()) {
        if (Boolean.TRUE.equals(v.getServed())) {
          served.add(v.getName());
        }
      }
      for (String v : VERSION_PRIORITY) {
        if (served.contains(v)) {
          return v;
        }
      }
      LOG.warning("CRD " + crd + " serves none of " + VERSION_PRIORITY + " but " + served);
    } catch (KubernetesClientException e) {
      LOG.warning("cannot read CRD " + crd + " (" + e.getMessage() + "); watching v1");
    }
    return VERSION_PRIORITY.get(0);
  }

  /** Starts the informers once: lists every kind, then watches. */
  private synchronized void open() {
    if (!informers.isEmpty() || closed) {
      return;
    }
    LOG.info(
        "reading config from the Kubernetes API at "
            + client.getMasterUrl()
            + (namespace == null ? " (all namespaces)" : " (namespace " + namespace + ")"));
    for (Map.Entry<String, String> k : ISTIO_KINDS.entrySet()) {
      String version = servedVersion(k.getValue());
      ResourceDefinitionContext ctx =
          new ResourceDefinitionContext.Builder()
              .withGroup(ConfigLoader.ISTIO_NETWORKING)
              .withVersion(version)
              .withKind(k.getKey())
              .withPlural(k.getValue())
              .withNamespaced(true)
              .build();
      var op = client.genericKubernetesResources(ctx);
      SharedIndexInformer<? extends HasMetadata> i =
          inform(
              namespace == null ? op.inAnyNamespace() : op.inNamespace(namespace),
              handler(),
              resyncMillis,
              k.getValue());
      informers.add(i);
      types.put(i, new String[] {k.getKey(), ConfigLoader.ISTIO_NETWORKING + "/" + version});
      LOG.info("watching " + k.getValue() + "." + ConfigLoader.ISTIO_NETWORKING + "/" + version);
    }
    var services = client.services();
    SharedIndexInformer<? extends HasMetadata> svc =
        inform(
            namespace == null ? services.inAnyNamespace() : services.inNamespace(namespace),
            handler(),
            resyncMillis,
            "services");
    informers.add(svc);
    types.put(svc, new String[] {"Service", "v1"});
  }

  /**
   * Starts an informer without waiting for its list. A list or watch that fails is retried (with
   * the client's backoff) for as long as istiod runs, as client-go's reflector does: an API server
   * that is not reachable yet delays readiness, it does not end the process.
   */
  static <T> SharedIndexInformer<T> inform(
      Informable<T> op, ResourceEventHandler<? super T> handler, long resyncMillis, String what) {
    SharedIndexInformer<T> i = op.runnableInformer(resyncMillis);
    i.exceptionHandler(
        (started, t) -> {
          LOG.warning(
              (started ? "watch of " : "list of ")
                  + what
                  + " failed, retrying: "
                  + String.valueOf(t.getMessage()).lines().findFirst().orElse(""));
          return true;
        });
    i.addEventHandler(handler);
    i.start();
    return i;
  }

  private <T extends HasMetadata> ResourceEventHandler<T> handler() {
    return new ResourceEventHandler<>() {
      @Override
      public void onAdd(T obj) {
        changed();
      }

      @Override
      public void onUpdate(T before, T after) {
        // a resync hands every object again with the same resourceVersion: nothing changed
        if (!Objects.equals(
            before.getMetadata().getResourceVersion(), after.getMetadata().getResourceVersion())) {
          onChange.run();
        }
      }

      @Override
      public void onDelete(T obj, boolean finalStateUnknown) {
        changed();
      }
    };
  }

  private void changed() {
    dirty = true;
    onChange.run();
  }

  /** True once every informer has its initial list. */
  public boolean synced() {
    List<SharedIndexInformer<? extends HasMetadata>> all;
    synchronized (this) {
      all = List.copyOf(informers);
    }
    return !all.isEmpty() && all.stream().allMatch(SharedIndexInformer::hasSynced);
  }

  /** Waits for the informers' initial lists, as istiod waits for its caches before serving. */
  private void awaitSync() {
    long start = System.currentTimeMillis();
    long logged = start;
    while (!synced() && !closed) {
      try {
        TimeUnit.MILLISECONDS.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      long now = System.currentTimeMillis();
      if (now - logged >= SYNC_LOG_MS) {
        logged = now;
        LOG.warning(
            "waiting for the Kubernetes API's initial lists (" + (now - start) / 1000 + " s)");
      }
    }
  }

  @Override
  public LoadResult load() {
    open();
    awaitSync();
    dirty = false;
    List<Typed> objects = new ArrayList<>();
    synchronized (this) {
      for (SharedIndexInformer<? extends HasMetadata> i : informers) {
        String[] type = types.get(i);
        for (HasMetadata o : i.getStore().list()) {
          objects.add(new Typed(type[0], type[1], o));
        }
      }
    }
    return loadObjects(objects);
  }

  /** Validates the objects whose resourceVersion is new and combines every object's result. */
  synchronized LoadResult loadObjects(List<Typed> objects) {
    Map<String, Typed> byKey = new TreeMap<>();
    for (Typed t : objects) {
      HasMetadata o = t.object();
      byKey.put(
          t.kind() + "/" + o.getMetadata().getNamespace() + "/" + o.getMetadata().getName(), t);
    }
    cache.keySet().retainAll(byKey.keySet());
    int validated = 0;
    List<LoadResult> results = new ArrayList<>();
    for (Map.Entry<String, Typed> e : byKey.entrySet()) {
      HasMetadata o = e.getValue().object();
      String rv = o.getMetadata().getResourceVersion();
      Validated v = cache.get(e.getKey());
      if (v == null || rv == null || !rv.equals(v.resourceVersion())) {
        v = new Validated(rv, validate(e.getValue()));
        cache.put(e.getKey(), v);
        validated++;
      }
      results.add(v.result());
    }
    lastValidated = validated;
    loads++;
    return ConfigFiles.combine(results, new ArrayList<>());
  }

  /** How many loads there were. */
  public synchronized long loads() {
    return loads;
  }

  /** How many objects the last load validated (the others had the same resourceVersion). */
  public synchronized int lastValidated() {
    return lastValidated;
  }

  /** An object with the kind and apiVersion of the informer that holds it. */
  record Typed(String kind, String apiVersion, HasMetadata object) {}

  private LoadResult validate(Typed t) {
    HasMetadata o = t.object();
    String kind = t.kind();
    String apiVersion = o.getApiVersion() != null ? o.getApiVersion() : t.apiVersion();
    JsonNode tree = serialization.convertValue(o, JsonNode.class);
    if (tree instanceof ObjectNode obj) {
      obj.put("kind", kind);
      obj.put("apiVersion", apiVersion);
      // what changes without a change to the object's meaning: a new version of an unchanged spec
      // (a status update, a field manager's bookkeeping) is then equal to the served one, and
      // nothing is translated or pushed again
      obj.remove("status");
      if (obj.get("metadata") instanceof ObjectNode meta) {
        meta.remove(List.of("resourceVersion", "managedFields", "generation"));
      }
    }
    String ns = o.getMetadata().getNamespace();
    String name = o.getMetadata().getName();
    Resource r = new Resource(apiVersion, kind, ns, name, tree, sourceOf(kind, ns, name));
    return new ConfigLoader().build(List.of(r), List.<Diagnostic>of());
  }

  /** Where an object comes from, as errors name it: {@code kubernetes:/Kind/namespace/name}. */
  static SourceRef sourceOf(String kind, String namespace, String name) {
    return new SourceRef(Path.of("kubernetes:", kind, namespace, name), 0);
  }

  @Override
  public void start(Runnable onChange) {
    open();
    this.onChange = onChange;
    if (dirty) {
      onChange.run(); // something changed between the first load and now
    }
  }

  @Override
  public Path directory() {
    return null;
  }

  @Override
  public synchronized void close() {
    closed = true;
    informers.forEach(SharedIndexInformer::close);
    informers.clear();
    types.clear();
  }
}
