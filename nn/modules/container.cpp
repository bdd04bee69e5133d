#include "nn/modules/container.h"

namespace shrink::nn {
namespace {

ModulePtr at_index(const Module& m, std::int64_t index) {
  const auto n = static_cast<std::int64_t>(m.named_children().size());
  SHRINK_CHECK_INDEX(index >= -n && index < n, m.type_name(), ": index ", index, " is out of range for ", n,
                     " modules");
  return m.child(std::to_string(index < 0 ? index + n : index));
}

}  // namespace

Sequential::Sequential(std::initializer_list<SequentialItem> items) : Sequential() {
  for (const auto& item : items) push_back(item);
}
Sequential::Sequential(const std::vector<ModulePtr>& modules) : Sequential() {
  for (const auto& m : modules) push_back(m);
}
void Sequential::push_back(const SequentialItem& item) { register_module(std::to_string(size()), item.module()); }
Tensor Sequential::forward(const Tensor& x) {
  Tensor out = x;
  for (const auto& [name, m] : named_children()) out = (*m)(out);
  return out;
}
ModulePtr Sequential::operator[](std::int64_t index) const { return at_index(*this, index); }

ModuleList::ModuleList(std::initializer_list<ModulePtr> modules) : ModuleList() {
  for (const auto& m : modules) push_back(m);
}
void ModuleList::push_back(ModulePtr module) { register_module(std::to_string(size()), std::move(module)); }
Tensor ModuleList::forward(const Tensor&) {
  throw NotImplementedError("ModuleList has no forward: iterate over it in the parent module's forward");
}
ModulePtr ModuleList::operator[](std::int64_t index) const { return at_index(*this, index); }

}  // namespace shrink::nn
