package orderflow.registry;

import io.apicurio.common.apps.config.DynamicConfigPropertyList;
import java.util.List;
import javax.enterprise.context.ApplicationScoped;
import javax.enterprise.inject.Produces;

/** Stands in for the build step of apicurio-common-app-components-config-index-deployment,
 *  which Maven Central does not serve: no property is dynamic. */
@ApplicationScoped
public class DynamicConfigIndex {
    @Produces
    @ApplicationScoped
    DynamicConfigPropertyList dynamicConfigProperties() {
        return new DynamicConfigPropertyList(List.of());
    }
}
