import Parallel

extension ParticleSet {
    /// Peano–Hilbert keys of the current positions.
    public func keys() -> [UInt64] { position.map(PeanoHilbert.key) }

    /// Sorts the particles along the Peano–Hilbert curve (ties by ID, so the
    /// order does not depend on where particles came from) and returns the keys.
    @discardableResult
    public mutating func sortByKey() -> [UInt64] {
        let k = keys()
        let order = k.indices.sorted { k[$0] != k[$1] ? k[$0] < k[$1] : id[$0] < id[$1] }
        permute(order)
        return order.map { k[$0] }
    }

    /// Makes a new domain decomposition balanced by the measured cost per
    /// unit time (cost / step size) and by particle count, sends every
    /// particle to its new owner and sorts by key; returns the domain and the
    /// sorted keys. Collective.
    public mutating func redistribute(topNodeFactor: Double, communicator: Communicator) -> (domain: Domain, keys: [UInt64]) {
        var keys = sortByKey()
        let load = indices.map { Double(cost[$0]) / Double(Int64(1) << Int64(timeBin[$0])) }
        let domain = Domain.decompose(sortedKeys: keys, load: load, topNodeFactor: topNodeFactor, communicator: communicator)
        if communicator.size > 1 {
            var counts = [Int](repeating: 0, count: communicator.size)
            var owners = [Int](repeating: 0, count: count)
            for i in 0..<count {
                owners[i] = domain.owner(ofKey: keys[i])
                counts[owners[i]] += 1
            }
            // Keys are sorted and ranks own increasing key ranges, so owners are already in send order.
            let records = (0..<count).map(record)
            self = ParticleSet(records: communicator.alltoallv(records, sendCounts: counts))
            keys = sortByKey()
        }
        return (domain, keys)
    }

    /// Moves every particle by `offset` (wrapping, exact).
    public mutating func translate(by offset: IntegerPosition) {
        for i in position.indices { position[i] &+= offset }
    }

    var indices: Range<Int> { 0..<count }
}
