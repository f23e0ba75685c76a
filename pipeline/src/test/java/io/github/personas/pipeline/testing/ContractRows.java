package io.github.personas.pipeline.testing;

import io.github.personas.pipeline.io.Contract;
import java.sql.Timestamp;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;

/** Inline rows in the contract's columns and types, naming only the values a test cares about. */
public final class ContractRows {

  private final Contract.Table table;
  private final Map<String, Object> values = new HashMap<>();

  private ContractRows(Contract.Table table) {
    this.table = table;
  }

  /** An event of {@code user} at {@code time} ("yyyy-MM-dd HH:mm:ss", UTC) named {@code name}. */
  public static ContractRows event(String user, String time, String name) {
    return new ContractRows(Contract.EVENTS).with("user_id", user).with("event_time", Timestamp.valueOf(time))
        .with("event_name", name);
  }

  /** A profile of {@code user}. */
  public static ContractRows profile(String user) {
    return new ContractRows(Contract.PROFILES).with("user_id", user);
  }

  /** Sets one column; the value must have the column's Java type (String, Double, Timestamp...). */
  public ContractRows with(String column, Object value) {
    if (table.column(column).isEmpty()) {
      throw new IllegalArgumentException(column + " is not a column of " + table.name());
    }
    values.put(column, value);
    return this;
  }

  /** Shorthand for a purchase or refund amount and order. */
  public ContractRows order(String orderId, double revenue) {
    return with("order_id", orderId).with("revenue", revenue);
  }

  public Row row() {
    return RowFactory.create(table.columnNames().stream().map(values::get).toArray());
  }

  public static StructType schema(Contract.Table table) {
    return table.schema();
  }

  /** A DataFrame of events or profiles from rows built here. */
  public static Dataset<Row> frame(SparkSession spark, Contract.Table table, List<ContractRows> rows) {
    return spark.createDataFrame(rows.stream().map(ContractRows::row).toList(), schema(table));
  }
}
