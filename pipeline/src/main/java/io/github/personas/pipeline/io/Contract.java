package io.github.personas.pipeline.io;

import java.util.List;
import java.util.Optional;

/**
 * The input contract (v1) as data: tables, columns, types; docs/input-contract.md lists them.
 *
 * <p>The validator, the docs and the tests all read these lists, so there is one place to
 * change when the contract moves.
 */
public final class Contract {

  /** Type a contract column is converted to; text is accepted for every type. */
  public enum Kind {
    STRING("string"),
    TIMESTAMP("timestamp"),
    DOUBLE("double"),
    INT("int"),
    BOOLEAN("boolean"),
    STRING_ARRAY("array<string>");

    private final String sqlType;

    Kind(String sqlType) {
      this.sqlType = sqlType;
    }

    /** The Spark SQL type name the column has after validation. */
    public String sqlType() {
      return sqlType;
    }
  }

  /**
   * One column of a contract table.
   *
   * @param name     snake_case name
   * @param kind     type after validation
   * @param required rows without a value are quarantined
   */
  public record Column(String name, Kind kind, boolean required) {}

  /**
   * One contract table.
   *
   * @param name     {@code events} or {@code profiles}
   * @param columns  its columns in contract order
   * @param dedupKey the column whose repeated values are duplicates
   */
  public record Table(String name, List<Column> columns, String dedupKey) {
    /** The column with that name, if the contract has it. */
    public Optional<Column> column(String columnName) {
      return columns.stream().filter(c -> c.name().equals(columnName)).findFirst();
    }

    /** Names of all columns, in contract order. */
    public List<String> columnNames() {
      return columns.stream().map(Column::name).toList();
    }

    /** The schema of the table's accepted rows: every column with its type after validation. */
    public org.apache.spark.sql.types.StructType schema() {
      java.util.StringJoiner ddl = new java.util.StringJoiner(", ");
      columns.forEach(c -> ddl.add("`" + c.name().replace("`", "``") + "` " + c.kind().sqlType()));
      return org.apache.spark.sql.types.StructType.fromDDL(ddl.toString());
    }
  }

  public static final String USER_ID = "user_id";
  public static final String EVENT_TIME = "event_time";
  public static final String EVENT_NAME = "event_name";
  public static final String EVENT_ID = "event_id";
  public static final String ORDER_ID = "order_id";
  public static final String REVENUE = "revenue";
  public static final String INSTALL_TIME = "install_time";

  /** Canonical event names; any other name is a custom event and is kept. */
  public static final List<String> CANONICAL_EVENTS = List.of(
      "install", "session_start", "screen_view", "product_view", "add_to_cart", "purchase", "refund",
      "message_received", "message_open", "message_click", "opt_out", "uninstall");

  public static final Table EVENTS = new Table("events", List.of(
      new Column(USER_ID, Kind.STRING, true),
      new Column(EVENT_TIME, Kind.TIMESTAMP, true),
      new Column(EVENT_NAME, Kind.STRING, true),
      new Column(EVENT_ID, Kind.STRING, false),
      new Column("session_id", Kind.STRING, false),
      new Column("duration_s", Kind.DOUBLE, false),
      new Column(ORDER_ID, Kind.STRING, false),
      new Column(REVENUE, Kind.DOUBLE, false),
      new Column("currency", Kind.STRING, false),
      new Column("product_id", Kind.STRING, false),
      new Column("category", Kind.STRING, false),
      new Column("channel", Kind.STRING, false),
      new Column("campaign_id", Kind.STRING, false),
      new Column("platform", Kind.STRING, false),
      new Column("os_version", Kind.STRING, false),
      new Column("app_version", Kind.STRING, false),
      new Column("device_model", Kind.STRING, false),
      new Column("country", Kind.STRING, false),
      new Column("region", Kind.STRING, false),
      new Column("city", Kind.STRING, false)), EVENT_ID);

  public static final Table PROFILES = new Table("profiles", List.of(
      new Column(USER_ID, Kind.STRING, true),
      new Column(INSTALL_TIME, Kind.TIMESTAMP, false),
      new Column("birth_year", Kind.INT, false),
      new Column("gender", Kind.STRING, false),
      new Column("country", Kind.STRING, false),
      new Column("region", Kind.STRING, false),
      new Column("city", Kind.STRING, false),
      new Column("language", Kind.STRING, false),
      new Column("income_band", Kind.STRING, false),
      new Column("occupation", Kind.STRING, false),
      new Column("marital_status", Kind.STRING, false),
      new Column("education", Kind.STRING, false),
      new Column("acquisition_channel", Kind.STRING, false),
      new Column("push_opt_in", Kind.BOOLEAN, false),
      new Column("email_opt_in", Kind.BOOLEAN, false),
      new Column("sms_opt_in", Kind.BOOLEAN, false),
      new Column("interests", Kind.STRING_ARRAY, false)), USER_ID);

  private Contract() {}
}
