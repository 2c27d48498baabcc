import Foundation
import Report

/// Writes safetensors files: the tensors in name order, packed without gaps, the JSON
/// header padded with spaces so that the data section starts at a multiple of 8 bytes (as
/// the reference writer does). The file appears whole or not at all (temporary file +
/// rename).
public enum SafeTensorsWriter {
  /// One tensor's place in a file: name, element type, shape.
  public struct Entry: Sendable, Equatable {
    /// The tensor's name.
    public var name: String
    /// The element type.
    public var dataType: SafeTensorsDataType
    /// The dimensions.
    public var shape: [Int]

    /// An entry.
    public init(name: String, dataType: SafeTensorsDataType, shape: [Int]) {
      (self.name, self.dataType, self.shape) = (name, dataType, shape)
    }

    /// The tensor's bytes: elements × element size.
    public var byteCount: Int { shape.reduce(1, *) * dataType.size }
  }

  /// The length field and padded JSON header for `entries` in name order.
  static func header(_ entries: [Entry], metadata: [String: String]) -> [UInt8] {
    var fields: [String] = []
    if !metadata.isEmpty {
      let pairs = metadata.keys.sorted().map { JSON.quoted($0) + ":" + JSON.quoted(metadata[$0]!) }
      fields.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
    }
    var offset = 0
    for e in entries.sorted(by: { $0.name < $1.name }) {
      let shape = e.shape.map(String.init).joined(separator: ",")
      fields.append(
        JSON.quoted(e.name)
          + ":{\"dtype\":\"\(e.dataType.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + e.byteCount)]}"
      )
      offset += e.byteCount
    }
    var header = Array(("{" + fields.joined(separator: ",") + "}").utf8)
    while (8 + header.count) % 8 != 0 { header.append(UInt8(ascii: " ")) }
    var bytes: [UInt8] = []
    ElementDecoding.append(UInt64(header.count), to: &bytes)
    return bytes + header
  }

  /// The file's bytes.
  public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:]) -> [UInt8] {
    let entries = tensors.map { Entry(name: $0.key, dataType: $0.value.dataType, shape: $0.value.shape) }
    var bytes = header(entries, metadata: metadata)
    for name in tensors.keys.sorted() { bytes += tensors[name]!.bytes }
    return bytes
  }

  /// Writes a file too large to hold in memory: the header of `entries`, then each
  /// tensor's bytes (in name order) as `fill` writes them into a buffer of
  /// `entry.byteCount` bytes. Atomic like `write`.
  ///
  /// - Throws: `FileWriteError` naming the path, or what `fill` throws.
  public static func write(
    streaming entries: [Entry], metadata: [String: String] = [:], to path: String,
    fill: (Entry, UnsafeMutableRawBufferPointer) throws -> Void
  ) throws {
    try AtomicFile.write(to: path) { handle in
      try handle.write(contentsOf: header(entries, metadata: metadata))
      for entry in entries.sorted(by: { $0.name < $1.name }) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: entry.byteCount, alignment: 64)
        defer { buffer.deallocate() }
        try fill(entry, buffer)
        try handle.write(contentsOf: UnsafeRawBufferPointer(buffer))
      }
    }
  }

  /// Writes `tensors` (and `metadata`) to `path` atomically.
  ///
  /// - Throws: `FileWriteError` naming the path when it cannot be written.
  public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to path: String)
    throws
  {
    try AtomicFile.write(Data(encode(tensors, metadata: metadata)), to: path)
  }
}
