/*
 * configoptions.cpp: ConfigOptions over the C API's ConfigOptions object
 * (c_configoptions.h). A copy is a new C object of the same suffix with the
 * same overrides replayed.
 */
#include "configoptions.h"

#include <utility>

#include "srcpp.h"

namespace SmartRedis {

using detail::check;

ConfigOptions::ConfigOptions(cfgSrc source, const std::string& suffix)
    : _source(source), _suffix(suffix), _c_options(nullptr)
{
    check(::create_configoptions_from_environment(_suffix.c_str(), _suffix.size(), &_c_options));
}

ConfigOptions::ConfigOptions(const ConfigOptions& cfgopts) : ConfigOptions(cfgopts._source, cfgopts._suffix)
{
    _replay(cfgopts);
}

ConfigOptions& ConfigOptions::operator=(const ConfigOptions& cfgopts)
{
    if (this != &cfgopts) {
        ConfigOptions copy(cfgopts);
        *this = std::move(copy);
    }
    return *this;
}

ConfigOptions::ConfigOptions(ConfigOptions&& cfgopts) noexcept
    : _source(cfgopts._source),
      _suffix(std::move(cfgopts._suffix)),
      _c_options(cfgopts._c_options),
      _overrides(std::move(cfgopts._overrides))
{
    cfgopts._c_options = nullptr;
}

ConfigOptions& ConfigOptions::operator=(ConfigOptions&& cfgopts) noexcept
{
    if (this != &cfgopts) {
        ::DeallocateConfigOptions(&_c_options);
        _source = cfgopts._source;
        _suffix = std::move(cfgopts._suffix);
        _c_options = cfgopts._c_options;
        _overrides = std::move(cfgopts._overrides);
        cfgopts._c_options = nullptr;
    }
    return *this;
}

ConfigOptions::~ConfigOptions()
{
    ::DeallocateConfigOptions(&_c_options);
}

void ConfigOptions::_replay(const ConfigOptions& other)
{
    for (const Override& o : other._overrides) {
        if (o.is_integer)
            override_integer_option(o.name, o.integer);
        else
            override_string_option(o.name, o.string);
    }
}

ConfigOptions* ConfigOptions::clone()
{
    return new ConfigOptions(*this);
}

std::unique_ptr<ConfigOptions> ConfigOptions::create_from_environment(const std::string& db_suffix)
{
    return std::unique_ptr<ConfigOptions>(new ConfigOptions(cs_envt, db_suffix));
}

std::unique_ptr<ConfigOptions> ConfigOptions::create_from_environment(const char* db_suffix)
{
    return create_from_environment(std::string(db_suffix != nullptr ? db_suffix : ""));
}

int64_t ConfigOptions::get_integer_option(const std::string& option_name)
{
    int64_t value = 0;
    check(::get_integer_option(_c_options, option_name.c_str(), option_name.size(), &value));
    return value;
}

std::string ConfigOptions::get_string_option(const std::string& option_name)
{
    char* value = nullptr;
    size_t length = 0;
    check(::get_string_option(_c_options, option_name.c_str(), option_name.size(), &value, &length));
    return std::string(value != nullptr ? value : "", value != nullptr ? length : 0);
}

bool ConfigOptions::is_configured(const std::string& option_name)
{
    bool configured = false;
    check(::is_configured(_c_options, option_name.c_str(), option_name.size(), &configured));
    return configured;
}

void ConfigOptions::override_integer_option(const std::string& option_name, int64_t value)
{
    check(::override_integer_option(_c_options, option_name.c_str(), option_name.size(), value));
    _overrides.push_back(Override{option_name, true, value, std::string()});
}

void ConfigOptions::override_string_option(const std::string& option_name, const std::string& value)
{
    check(::override_string_option(_c_options, option_name.c_str(), option_name.size(), value.c_str(),
                                   value.size()));
    _overrides.push_back(Override{option_name, false, 0, value});
}

} /* namespace SmartRedis */
