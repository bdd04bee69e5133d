#include "nn/models/registry.h"

#include <functional>
#include <utility>

#include "nn/models/classic.h"
#include "nn/models/inception.h"
#include "nn/models/mobilenet.h"
#include "nn/models/resnet.h"
#include "nn/models/vgg.h"

namespace shrink::models {
namespace {

const std::vector<std::pair<std::string, std::function<nn::ModulePtr()>>>& zoo() {
  static const std::vector<std::pair<std::string, std::function<nn::ModulePtr()>>> entries = {
      {"mlp", [] { return std::make_shared<MLP>(); }},
      {"naive", [] { return std::make_shared<Naive>(); }},
      {"lenet5", [] { return std::make_shared<LeNet5>(); }},
      {"vgg_small", [] { return std::make_shared<VGGSmall>(); }},
      {"resnet20", [] { return std::make_shared<ResNet20>(); }},
      {"mobilenet_small", [] { return std::make_shared<MobileNetSmall>(); }},
      {"inception_small", [] { return std::make_shared<InceptionSmall>(); }},
  };
  return entries;
}

}  // namespace

nn::ModulePtr create(const std::string& name) {
  for (const auto& [key, make] : zoo())
    if (key == name) return make();
  std::string known;
  for (const auto& n : names()) known += (known.empty() ? "" : ", ") + n;
  throw ValueError("models::create: unknown model '" + name + "' (known: " + known + ")");
}

std::vector<std::string> names() {
  std::vector<std::string> out;
  for (const auto& [key, make] : zoo()) out.push_back(key);
  return out;
}

}  // namespace shrink::models
