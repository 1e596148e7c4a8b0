package io.shopmesh.mesh.istiod.webhook;

import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingWebhookConfiguration;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * Keeps the webhook configurations pointing at this istiod's CA, as istiod's webhook controllers
 * do: the {@code caBundle} of every webhook in {@code istio-validator-istio-system} and {@code
 * istio-sidecar-injector}, and the validator's {@code failurePolicy} switched from the chart's
 * {@code Ignore} to {@code Fail} once istiod serves it. Re-checked periodically, so a re-applied
 * install manifest (which resets them) is repaired.
 */
public final class CaBundlePatcher implements AutoCloseable {

  public static final String VALIDATOR = "istio-validator-istio-system";
  public static final String INJECTOR = "istio-sidecar-injector";
  private static final Logger LOG = Logger.getLogger(CaBundlePatcher.class.getName());

  private final KubernetesClient client;
  private final String caBundle;
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "webhook-ca-bundle");
            t.setDaemon(true);
            return t;
          });

  public CaBundlePatcher(KubernetesClient client, String caPem) {
    this.client = client;
    this.caBundle = Base64.getEncoder().encodeToString(caPem.getBytes(StandardCharsets.UTF_8));
  }

  /** Patches now, then every {@code periodSeconds}. */
  public CaBundlePatcher start(long periodSeconds) {
    timer.scheduleWithFixedDelay(this::patchQuietly, 0, periodSeconds, TimeUnit.SECONDS);
    return this;
  }

  private void patchQuietly() {
    try {
      patch();
    } catch (KubernetesClientException e) {
      LOG.warning("cannot patch the webhook configurations: " + e.getMessage());
    }
  }

  /** Returns how many configurations were changed. */
  public int patch() {
    int changed = 0;
    var v =
        client.admissionRegistration().v1().validatingWebhookConfigurations().withName(VALIDATOR);
    ValidatingWebhookConfiguration vc = v.get();
    if (vc != null && needs(vc)) {
      v.edit(
          c -> {
            for (ValidatingWebhook w : c.getWebhooks()) {
              w.getClientConfig().setCaBundle(caBundle);
              w.setFailurePolicy("Fail");
            }
            return c;
          });
      changed++;
    }
    var m = client.admissionRegistration().v1().mutatingWebhookConfigurations().withName(INJECTOR);
    MutatingWebhookConfiguration mc = m.get();
    if (mc != null
        && mc.getWebhooks().stream()
            .anyMatch(w -> !Objects.equals(caBundle, w.getClientConfig().getCaBundle()))) {
      m.edit(
          c -> {
            for (MutatingWebhook w : c.getWebhooks()) {
              w.getClientConfig().setCaBundle(caBundle);
            }
            return c;
          });
      changed++;
    }
    if (changed > 0) {
      LOG.info("patched caBundle into " + changed + " webhook configuration(s)");
    }
    return changed;
  }

  private boolean needs(ValidatingWebhookConfiguration c) {
    return c.getWebhooks().stream()
        .anyMatch(
            w ->
                !Objects.equals(caBundle, w.getClientConfig().getCaBundle())
                    || !"Fail".equals(w.getFailurePolicy()));
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
