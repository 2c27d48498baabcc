import Foundation
import Linalg
import Report

extension HuggingFaceModel {
  /// Writes the model as it is held to a new folder, so that it loads there without being
  /// converted again: every product weight held compact is written in its format — bf16
  /// as a BF16 tensor under its own name, q8/q4 as `name.qweight` (U8) and `name.scales`
  /// (F16, one half per block of 32; layout in `WeightMatrix`) with `quantization_config`
  /// `{"quant_method": "moekit", "format": …, "block_size": 32}` in `config.json` —
  /// and every other tensor as stored; `tokenizer.json` is copied.
  ///
  /// The folder appears whole or not at all: everything is written to a temporary folder
  /// beside it, which is renamed at the end.
  ///
  /// - Throws: `CheckpointError.unreadableModel` when `folder` exists or its parent does
  ///   not, and the errors of reading the source or writing the files.
  public func save(to folder: String) throws {
    guard !FileManager.default.fileExists(atPath: URL(fileURLWithPath: folder).standardizedFileURL.path)
    else {
      throw CheckpointError.unreadableModel(path: folder, reason: "it exists already; give a new folder")
    }
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: self.folder, isDirectory: &isFolder), isFolder.boolValue
    else {
      throw CheckpointError.unreadableModel(
        path: self.folder, reason: "it is a GGUF file, and MoEKit saves models as Hugging Face folders only")
    }
    try AtomicFolder.write(folder) { temporary in
      let held = checkpoint.ledger.compactMatrices
      if let blocks = held.values.first(where: { $0.format != .bf16 && $0.quantizedParts == nil }) {
        throw CheckpointError.unsupportedField(
          field: "weight format", value: blocks.format.rawValue,
          supported: "bf16, q8 or q4 in a safetensors folder (load the model as one of those to save it)")
      }
      let quantized = Set(held.values.map(\.format)).subtracting([.bf16])
      guard quantized.count <= 1 else {
        throw CheckpointError.unsupportedField(
          field: "quantization_config.format",
          value: quantized.map(\.rawValue).sorted().joined(separator: "+"),
          supported: "one quantized format per checkpoint")
      }
      try writeWeights(held, to: temporary + "/model.safetensors")
      try writeConfig(quantizedAs: quantized.first, to: temporary + "/config.json")
      let tokenizer = URL(fileURLWithPath: self.folder).appendingPathComponent("tokenizer.json").path
      if FileManager.default.fileExists(atPath: tokenizer) {
        do {
          try FileManager.default.copyItem(atPath: tokenizer, toPath: temporary + "/tokenizer.json")
        } catch {
          throw FileWriteError(path: temporary + "/tokenizer.json", error: error)
        }
      }
    }
  }

  /// Every tensor of the source, the compact ones in their held format.
  func writeWeights(_ held: [String: WeightMatrix], to path: String) throws {
    let source = checkpoint.weights
    var entries: [SafeTensorsWriter.Entry] = []
    var fills: [String: UnsafeRawBufferPointer] = [:]
    for name in source.names {
      // A quantized source's parts give way to the base name's held form.
      let base =
        [".qweight", ".scales"].first(where: name.hasSuffix).map { String(name.dropLast($0.count)) } ?? name
      guard let matrix = held[base] else {
        entries.append(
          .init(name: name, dataType: try source.dataType(of: name), shape: try source.shape(of: name)))
        fills[name] = try source.rawBytes(name)
        continue
      }
      guard fills[base] == nil && fills[base + ".qweight"] == nil else { continue }
      if let bytes = matrix.bf16Bytes {
        entries.append(.init(name: base, dataType: .bf16, shape: [matrix.rows, matrix.columns]))
        fills[base] = bytes
      } else if let (quants, scales) = matrix.quantizedParts {
        let blocks = (matrix.columns + 31) / 32
        entries.append(
          .init(name: base + ".qweight", dataType: .u8, shape: [matrix.rows, quants.count / matrix.rows]))
        entries.append(.init(name: base + ".scales", dataType: .f16, shape: [matrix.rows, blocks]))
        (fills[base + ".qweight"], fills[base + ".scales"]) = (quants, scales)
      }
    }
    try SafeTensorsWriter.write(streaming: entries, metadata: ["format": "pt", "writer": "MoEKit"], to: path)
    {
      entry, buffer in
      let bytes = fills[entry.name]!
      if let base = bytes.baseAddress, let out = buffer.baseAddress {
        out.copyMemory(from: base, byteCount: bytes.count)
      }
    }
  }

  /// The source's `config.json` with `quantization_config` for `format` (or without one).
  func writeConfig(quantizedAs format: WeightMatrix.Format?, to path: String) throws {
    let sourcePath = URL(fileURLWithPath: folder).appendingPathComponent("config.json").path
    guard
      let data = FileManager.default.contents(atPath: sourcePath),
      var object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    else {
      throw CheckpointError.unreadableModel(
        path: sourcePath, reason: "config.json is no longer a readable JSON object")
    }
    object["quantization_config"] =
      format.map { ["quant_method": "moekit", "format": $0.rawValue, "block_size": 32] as [String: Any] }
    let json = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
    try AtomicFile.write(json, to: path)
  }
}
