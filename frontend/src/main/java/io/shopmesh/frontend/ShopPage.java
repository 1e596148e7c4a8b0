package io.shopmesh.frontend;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.qute.Template;
import io.quarkus.qute.TemplateData;
import io.quarkus.qute.TemplateInstance;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * The shop page, rendered on the server (Qute) from the same product-service answer that {@code
 * /products} passes on, so curl and a browser both see the products and the version badge. The
 * page's script only re-renders it on Reload and the premium switch, through {@code /products}.
 */
@Path("/")
public class ShopPage {

  private static final Logger LOG = Logger.getLogger(ShopPage.class);

  /** One product card, formatted for the page. */
  @TemplateData
  public record Card(
      int id,
      String name,
      String description,
      String price,
      String oldPrice,
      Integer discountPercent,
      String stars,
      String rating) {}

  /** The badge: the version and pod that served the products, or the fallback. */
  @TemplateData
  public record Badge(String text, String css, boolean fallback, String message) {}

  private final Template shop;
  private final CatalogService catalog;
  private final PremiumUsers premiumUsers;
  private final ObjectMapper json;

  public ShopPage(
      Template shop, CatalogService catalog, PremiumUsers premiumUsers, ObjectMapper json) {
    this.shop = shop;
    this.catalog = catalog;
    this.premiumUsers = premiumUsers;
    this.json = json;
  }

  @GET
  @Produces(MediaType.TEXT_HTML)
  public TemplateInstance page(@Context HttpHeaders headers) {
    JsonNode answer = parse(catalog.list(premiumUsers.isPremium(headers)).json());
    boolean fallback = answer.path("fallback").asBoolean(false);
    String version = answer.path("version").asText("unknown");
    Badge badge =
        fallback
            ? new Badge(
                "products unavailable", "unavailable", true, answer.path("message").asText(""))
            : new Badge(version + " · " + answer.path("pod").asText("?"), version, false, "");
    List<Card> cards = new ArrayList<>();
    for (JsonNode p : answer.path("products")) {
      cards.add(card(p));
    }
    return shop.data("badge", badge)
        .data("cards", cards)
        .data("premiumSwitch", premiumUsers.premiumSwitch(headers))
        .data("user", premiumUsers.user(headers).orElse("guest"));
  }

  private JsonNode parse(String body) {
    try {
      return json.readTree(body);
    } catch (IOException e) {
      LOG.warnf("product-service answer is not JSON: %s", e.getMessage());
      return json.createObjectNode();
    }
  }

  private static Card card(JsonNode p) {
    String currency = p.path("currency").asText("EUR");
    String price = money(p.get("price"), currency);
    JsonNode discount = p.get("discountPrice");
    JsonNode rating = p.get("rating");
    String stars = null;
    String ratingText = null;
    if (rating != null && rating.isObject()) {
      double s = rating.path("stars").asDouble();
      stars = "★".repeat((int) Math.round(s));
      ratingText = s + " (" + rating.path("reviews").asInt() + ")";
    }
    boolean discounted = discount != null && !discount.isNull();
    return new Card(
        p.path("id").asInt(),
        p.path("name").asText(""),
        p.path("description").asText(""),
        discounted ? money(discount, currency) : price,
        discounted ? price : null,
        discounted && p.hasNonNull("discountPercent") ? p.get("discountPercent").asInt() : null,
        stars,
        ratingText);
  }

  private static String money(JsonNode v, String currency) {
    if (v == null || v.isNull()) {
      return "";
    }
    return new BigDecimal(v.asText()).setScale(2, RoundingMode.HALF_UP) + " " + currency;
  }
}
