import Linalg
import MoE
import Report

/// A small MoE layer trained on a clustered regression task (each of 8 input clusters has
/// its own linear map), then pruned, merged and compressed: expert bytes saved, the
/// relative change of its output on held-out tokens, and its task loss after each.
struct CompressionTable {
  var dimensions: Int
  var experts: Int
  var topK: Int
  var steps: Int

  func report() throws -> String {
    var g = Xoshiro256StarStar(seed: 21)
    let (d, h) = (dimensions, 2 * dimensions)
    func makeLayer() -> MoELayer<Float> {
      MoELayer<Float>(
        dimensions: d, hiddenDimensions: h,
        router: TopKSoftmaxRouter(dimensions: d, expertCount: experts, k: topK, using: &g), using: &g)
    }
    // Tokens from 8 clusters, each with its own linear map: structure a router can split.
    let task = MixtureOfRegressions<Float>(clusters: 8, dimensions: d, using: &g)
    func batch(_ n: Int) -> (x: Matrix<Float>, y: Matrix<Float>) { task.batch(n, using: &g) }
    var student = makeLayer()
    var optimizer = Adam<Float>()
    var context = RoutingContext()
    for _ in 0..<steps {
      let (x, y) = batch(128)
      let (result, cache) = student.forwardForTraining(x, context: &context)
      let (_, gradient) = MeanSquaredError.evaluate(result.output, target: y)
      student.zeroGradients()
      _ = student.backward(gradient, cache: cache)
      optimizer.update(&student, learningRate: 1e-2)
    }
    let calibration = batch(256).x
    let (heldOut, targets) = batch(512)
    let reference = student(heldOut)
    let expertBytes = 3 * d * h * MemoryLayout<Float>.stride
    // (method, layer, bytes of its experts)
    var candidates: [(String, MoELayer<Float>, Int)] = [("none", student, experts * expertBytes)]
    for keep in [experts * 3 / 4, experts / 2, experts / 4] where keep >= topK {
      candidates.append(
        (
          "prune to the \(keep) most used",
          ExpertCompression.prunedByUsage(student, calibration: calibration, keep: keep).layer,
          keep * expertBytes
        ))
    }
    for merges in [experts / 4, experts / 2] where experts - merges >= topK {
      candidates.append(
        (
          "merge \(merges) pairs",
          ExpertCompression.merged(student, calibration: calibration, merges: merges).layer,
          (experts - merges) * expertBytes
        ))
    }
    for rank in [d / 2, d / 4, d / 8] where rank >= 1 {
      let (layer, stored) = try ExpertCompression.lowRank(student, rank: rank)
      candidates.append(("rank \(rank) (SVD)", layer, stored * MemoryLayout<Float>.stride))
    }
    for format in [WeightMatrix.Format.bf16, .q8, .q4] {
      var layer = student
      layer.experts = layer.experts.map { $0.converted(to: format) }
      let bytes =
        2 * WeightMatrix.byteCount(format, rows: h, columns: d)
        + WeightMatrix.byteCount(format, rows: d, columns: h)
      candidates.append(("\(format) weights", layer, experts * bytes))
    }
    var table = Table(
      header: ["method", "expert MB", "saved", "output change (rel.)", "task loss", "vs uncompressed"],
      alignments: [.left, .right, .right, .right, .right, .right])
    let baseLoss = Double(MeanSquaredError.evaluate(reference, target: targets).loss)
    for (name, layer, bytes) in candidates {
      let output = layer(heldOut)
      let loss = Double(MeanSquaredError.evaluate(output, target: targets).loss)
      table.append([
        name, Format.fixed(Double(bytes) / 1e6, 3),
        Format.fixed(100 * (1 - Double(bytes) / Double(experts * expertBytes)), 0) + " %",
        Format.fixed(Double(ExpertCompression.relativeError(output, reference)), 3), Format.fixed(loss, 4),
        Format.fixed(loss / baseLoss, 2) + "×",
      ])
    }
    let zero = Double(
      MeanSquaredError.evaluate(Matrix(rows: targets.rows, columns: targets.columns), target: targets).loss)
    return """
      Pruning and compression: a \(experts)-expert top-\(topK) layer (d \(d), h \(h)) trained \(steps) Adam steps to \
      fit 8 clusters of tokens, each with its own linear map (task loss: mean squared error on 512 held-out tokens; \
      predicting zero scores \(Format.fixed(zero, 4))); usage and similarity from 256 calibration tokens
      \(table.markdown)
      """
  }
}
