package io.shopmesh.product;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import java.util.List;
import org.eclipse.microprofile.openapi.annotations.Operation;

@Path("/api/products")
@Produces(MediaType.APPLICATION_JSON)
public class ProductResource {

  public static final String VERSION_HEADER = "x-product-version";

  /** The list answer: version and pod on top, then the products. */
  public record ProductList(String version, String pod, int count, List<ProductView> products) {}

  /** The single-product answer: version and pod next to the product's own fields. */
  public record ProductAnswer(String version, String pod, @JsonUnwrapped ProductView product) {}

  private final Catalog catalog;
  private final ServingInstance instance;
  private final ProductConfig config;

  public ProductResource(Catalog catalog, ServingInstance instance, ProductConfig config) {
    this.catalog = catalog;
    this.instance = instance;
    this.config = config;
  }

  @GET
  @Operation(summary = "All products, with the version and pod that served them")
  public ProductList list() {
    List<ProductView> views =
        catalog.all().stream().map(p -> ProductView.of(p, config.features())).toList();
    return new ProductList(instance.version(), instance.pod(), views.size(), views);
  }

  @GET
  @Path("/{id}")
  @Operation(summary = "One product; 404 problem+json when the id is unknown")
  public Response get(@PathParam("id") String id, @Context UriInfo uri) {
    Integer numeric = parse(id);
    var product = numeric == null ? null : catalog.byId(numeric).orElse(null);
    if (product == null) {
      return Problems.notFound(
          "Product not found",
          "No product with id '" + id + "'",
          uri.getRequestUri().getPath(),
          instance);
    }
    return Response.ok(
            new ProductAnswer(
                instance.version(), instance.pod(), ProductView.of(product, config.features())))
        .build();
  }

  private static Integer parse(String id) {
    try {
      return Integer.valueOf(id);
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
