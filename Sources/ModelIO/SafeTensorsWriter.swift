import Foundation
import Report

/// Writes safetensors files: the tensors in name order, packed without gaps, the JSON
/// header padded with spaces so that the data section starts at a multiple of 8 bytes (as
/// the reference writer does). The file appears whole or not at all (temporary file +
/// rename).
public enum SafeTensorsWriter {
  /// The file's bytes.
  public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:]) -> [UInt8] {
    var entries: [String] = []
    if !metadata.isEmpty {
      let fields = metadata.keys.sorted().map { JSON.quoted($0) + ":" + JSON.quoted(metadata[$0]!) }
      entries.append("\"__metadata__\":{" + fields.joined(separator: ",") + "}")
    }
    var offset = 0
    for name in tensors.keys.sorted() {
      let t = tensors[name]!
      let shape = t.shape.map(String.init).joined(separator: ",")
      entries.append(
        JSON.quoted(name)
          + ":{\"dtype\":\"\(t.dataType.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + t.bytes.count)]}"
      )
      offset += t.bytes.count
    }
    var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
    while (8 + header.count) % 8 != 0 { header.append(UInt8(ascii: " ")) }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(8 + header.count + offset)
    ElementDecoding.append(UInt64(header.count), to: &bytes)
    bytes += header
    for name in tensors.keys.sorted() { bytes += tensors[name]!.bytes }
    return bytes
  }

  /// Writes `tensors` (and `metadata`) to `path` atomically.
  ///
  /// - Throws: `SafeTensorsError.unreadableFile` naming the path when it cannot be written.
  public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to path: String)
    throws
  {
    do {
      try AtomicFile.write(Data(encode(tensors, metadata: metadata)), to: path)
    } catch {
      throw SafeTensorsError.unreadableFile(path: path, reason: "\(error.localizedDescription)")
    }
  }
}
