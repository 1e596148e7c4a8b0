package io.shopmesh.product;

import jakarta.enterprise.context.ApplicationScoped;
import java.math.BigDecimal;
import java.util.List;
import java.util.Optional;

/** The fixed product catalog shared by both versions (in memory: it never changes). */
@ApplicationScoped
public class Catalog {

  private static final List<Product> PRODUCTS =
      List.of(
          p(
              1,
              "Trail Running Shoes",
              "Light shoes with a grippy sole",
              "shoes",
              "89.90",
              4.6,
              312,
              15),
          p(2, "Rain Jacket", "Waterproof, breathable shell", "clothing", "129.00", 4.3, 158, 0),
          p(
              3,
              "Merino T-Shirt",
              "Soft wool shirt that does not smell",
              "clothing",
              "49.50",
              4.8,
              421,
              10),
          p(4, "Hiking Backpack 30L", "Day pack with rain cover", "bags", "99.00", 4.5, 207, 20),
          p(
              5,
              "Water Bottle",
              "Insulated steel bottle, 750 ml",
              "accessories",
              "24.90",
              4.7,
              980,
              0),
          p(6, "Headlamp", "300 lumen, rechargeable", "accessories", "39.90", 4.4, 265, 25),
          p(7, "Trekking Poles", "Carbon, foldable, pair", "accessories", "119.00", 4.2, 88, 0),
          p(8, "Sleeping Bag", "Comfort to -5 degrees C", "camping", "189.00", 4.6, 134, 15),
          p(9, "Camping Stove", "Compact gas stove", "camping", "59.00", 4.1, 76, 0),
          p(10, "Wool Socks", "Cushioned hiking socks, 2 pairs", "clothing", "19.90", 4.9, 1204, 0),
          p(11, "Sunglasses", "Polarised, category 3", "accessories", "69.00", 4.0, 59, 30),
          p(12, "Tent for Two", "Freestanding, 1.9 kg", "camping", "299.00", 4.7, 301, 10));

  private static Product p(
      int id,
      String name,
      String desc,
      String cat,
      String price,
      double rating,
      int reviews,
      int discount) {
    return new Product(
        id, name, desc, cat, new BigDecimal(price), "EUR", rating, reviews, discount);
  }

  public List<Product> all() {
    return PRODUCTS;
  }

  public Optional<Product> byId(int id) {
    return PRODUCTS.stream().filter(p -> p.id() == id).findFirst();
  }
}
