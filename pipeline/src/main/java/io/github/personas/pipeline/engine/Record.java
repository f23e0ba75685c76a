package io.github.personas.pipeline.engine;

import org.apache.spark.unsafe.types.UTF8String;

/**
 * The fields of one decoded row, by position, as a fold reads them.
 *
 * <p>Strings point into the block being read: an aggregate that keeps one clones it.
 */
public interface Record {

  boolean isNullAt(int i);

  long getLong(int i);

  int getInt(int i);

  double getDouble(int i);

  boolean getBoolean(int i);

  UTF8String getUTF8String(int i);

  /** A string array field; elements may be null. */
  UTF8String[] getStringArray(int i);
}
