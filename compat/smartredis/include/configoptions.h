/*
 * configoptions.h: SmartRedis's ConfigOptions on simdask (compatibility layer, C++).
 *
 * Options come from environment variables, read when first asked for; with a
 * suffix S given at creation, option "SSDB" reads variable "SSDB_S" (for a
 * program that talks to several stores). Overrides change one object only.
 * Client(ConfigOptions*) takes the client's settings from it: SSDB,
 * SR_DB_TYPE, SSKEYIN, SSKEYOUT, the SR_* timeouts (docs/smartredis.md lists
 * them and their SIMDASK_* fallbacks).
 *
 *     auto opts = SmartRedis::ConfigOptions::create_from_environment("ocean");
 *     SmartRedis::Client client(opts.get(), "coupler");
 */
#ifndef SMARTREDIS_CONFIGOPTIONS_H
#define SMARTREDIS_CONFIGOPTIONS_H

#ifndef __cplusplus
#error C users should include c_configoptions.h, not configoptions.h
#endif

#include <stdint.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sr_enums.h"
#include "srexception.h"
#include "srobject.h"

namespace SmartRedis {

/* Where options come from: environment variables only (as in SmartRedis). */
enum cfgSrc {
    cs_envt,
};

class SR_API ConfigOptions {
  public:
    /* Copies hold the same suffix and overrides, and read the environment themselves. */
    ConfigOptions(const ConfigOptions& cfgopts);
    ConfigOptions& operator=(const ConfigOptions& cfgopts);
    ConfigOptions(ConfigOptions&& cfgopts) noexcept;
    ConfigOptions& operator=(ConfigOptions&& cfgopts) noexcept;
    virtual ~ConfigOptions();

    /* A new copy (delete it when done). */
    ConfigOptions* clone();

    /* Options from the environment; db_suffix "" (or NULL): no suffix. */
    static std::unique_ptr<ConfigOptions> create_from_environment(const std::string& db_suffix);
    static std::unique_ptr<ConfigOptions> create_from_environment(const char* db_suffix);

    /* The value of an option: KeyException when it is not set,
     * ParameterException when an integer option is not an integer. */
    int64_t get_integer_option(const std::string& option_name);
    std::string get_string_option(const std::string& option_name);
    /* Whether an option is set (in the environment or by an override). */
    bool is_configured(const std::string& option_name);

    /* Set an option for this object only (the environment is not changed). */
    void override_integer_option(const std::string& option_name, int64_t value);
    void override_string_option(const std::string& option_name, const std::string& value);

  private:
    ConfigOptions(cfgSrc source, const std::string& suffix);
    void* _handle() const { return _c_options; }
    void _replay(const ConfigOptions& other);

    cfgSrc _source;
    std::string _suffix;
    void* _c_options; /* the C API's object (c_configoptions.h) */
    /* overrides in order (name, integer?, value), replayed into copies */
    struct Override {
        std::string name;
        bool is_integer;
        int64_t integer;
        std::string string;
    };
    std::vector<Override> _overrides;

    friend class Client;
};

} /* namespace SmartRedis */

#endif /* SMARTREDIS_CONFIGOPTIONS_H */
