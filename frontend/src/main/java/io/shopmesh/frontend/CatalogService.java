package io.shopmesh.frontend;

import jakarta.enterprise.context.ApplicationScoped;
import java.util.Optional;
import org.eclipse.microprofile.faulttolerance.Fallback;
import org.eclipse.microprofile.rest.client.inject.RestClient;
import org.jboss.logging.Logger;

/**
 * Fetches the product list. A fallback answer keeps the page usable when product-service is down.
 * There is no @Retry on purpose: product-vs already retries 3 times, and retrying here as well
 * would multiply the attempts (1 + 3 here times 1 + 3 in the mesh = 16 calls per page view).
 */
@ApplicationScoped
public class CatalogService {

  private static final Logger LOG = Logger.getLogger(CatalogService.class);

  /** The product-service answer (or the fallback) as the frontend passes it on. */
  public record Products(String json, Optional<String> version, boolean fallback) {}

  static final String FALLBACK_JSON =
      "{\"version\":\"unavailable\",\"pod\":null,\"count\":0,\"products\":[],\"fallback\":true,"
          + "\"message\":\"Products are unavailable right now. Please try again shortly.\"}";

  private final ProductClient products;

  public CatalogService(@RestClient ProductClient products) {
    this.products = products;
  }

  @Fallback(fallbackMethod = "unavailable")
  public Products list(boolean premium) {
    try (var res = products.list(premium ? "premium" : null)) {
      String body = res.readEntity(String.class);
      return new Products(
          body, Optional.ofNullable(res.getHeaderString("x-product-version")), false);
    }
  }

  Products unavailable(boolean premium, Throwable cause) {
    LOG.warnf("product-service unavailable, serving the fallback: %s", cause.toString());
    return new Products(FALLBACK_JSON, Optional.empty(), true);
  }
}
